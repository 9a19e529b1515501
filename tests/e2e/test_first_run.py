"""The first `make run`: `augenmass init` writes a configuration for the machine it runs on,
and the server started on it is green where this machine is fine; the dashboard shows the next
steps while nobody would be told about a problem."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .helpers import ServerProcess, cli, free_port, wait_for

pytestmark = pytest.mark.slow


def _in_empty_netns(script: str) -> subprocess.CompletedProcess[str]:
    """Run `script` (sh) in a network namespace of its own with only `lo`, so the ports init
    finds are exactly those the test opens there."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("needs root for a network namespace (CI=true)")
        pytest.skip("needs root for a network namespace")
    return subprocess.run(
        ["unshare", "-n", "sh", "-c", "ip link set lo up && " + script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_init_writes_what_answers_here_and_nothing_else(tmp_path: Path) -> None:
    out_dir = tmp_path / "first-run"
    # binds the port first, then runs init (no guessing how long binding takes)
    script = textwrap.dedent(f"""
        import socket, subprocess, sys
        s = socket.socket(); s.bind(("127.0.0.1", 5432)); s.listen(8)
        argv = [sys.executable, "-m", "augenmass", "init", "--output", {str(out_dir)!r},
                "--listen", "127.0.0.1:8080"]
        sys.exit(subprocess.run(argv).returncode)
    """)
    (tmp_path / "init_here.py").write_text(script)
    done = _in_empty_netns(f"{sys.executable} {tmp_path / 'init_here.py'}")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "postgresql" in done.stdout
    text = (out_dir / "augenmass.yaml").read_text()
    assert "name: postgresql" in text and "{type: tcp, port: 5432}" in text
    for absent in ("name: ssh", "name: http\n", "name: smtp"):
        assert absent not in text  # nothing answered there
    assert "url: 'http://127.0.0.1:8080/status'" in text  # its own web UI
    assert "\ncontacts:" not in text  # nobody to mail yet
    assert cli("check-config", str(out_dir)).returncode == 0
    # a second run keeps what the admin may have edited since
    again = cli("init", "--output", str(out_dir))
    assert again.returncode == 0 and "kept" in again.stdout


def test_the_server_on_the_first_config_is_green_and_shows_next_steps(tmp_path: Path) -> None:
    port = free_port()
    out_dir = tmp_path / "first-run"
    assert cli("init", "--output", str(out_dir), "--listen", f"127.0.0.1:{port}").returncode == 0
    server = ServerProcess(out_dir, tmp_path / "data")
    server.port = port  # the web UI check asks the port init was told
    server.start()
    try:
        for name in ("disk", "memory", "augenmass web UI"):
            key = f"this-machine/{name}"
            wait_for(lambda k=key: server.status().get(k, {}).get("state") == "OK", 60, key)
        # the dashboard: log in and see the next steps
        import asyncio

        from augenmass.api import accounts
        from augenmass.core.clock import SystemClock
        from augenmass.server.control import StoreAccounts
        from augenmass.store import open_store

        async def add() -> None:
            store = await open_store(f"sqlite:///{server.data / 'augenmass.db'}")
            try:
                await accounts.add_user(
                    StoreAccounts(store, SystemClock()), "ada", "brass-lantern-orbit-42", "admin"
                )
            finally:
                await store.close()

        asyncio.run(add())
        import httpx

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            page = c.get("/login")
            token = re.search(r'name="login_token" value="([^"]+)"', page.text)
            assert token
            resp = c.post(
                "/login",
                data={
                    "name": "ada",
                    "password": "brass-lantern-orbit-42",
                    "next": "/",
                    "login_token": token.group(1),
                },
                headers={
                    "Origin": f"http://127.0.0.1:{port}",
                    "Cookie": "; ".join(f"{k}={v}" for k, v in page.cookies.items()),
                },
            )
            assert resp.status_code == 303, resp.text[:300]
            session = resp.cookies.get("augenmass_session")
            dash = c.get("/?lang=en", headers={"Cookie": f"augenmass_session={session}"})
            assert dash.status_code == 200
            assert 'id="next-steps"' in dash.text and "has no contacts" in dash.text
    finally:
        server.stop()
