"""Bidi control characters ("Trojan Source"): refused in config names with file, line and key;
stripped from comments and check outputs (real CLI and server processes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.proc import ServerProcess, cli, client

pytestmark = pytest.mark.slow

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
LRI, PDI = "\u2066", "\u2069"
ADMIN_PASSWORD = "brass-lantern-orbit-42"


def test_check_config_refuses_bidi_in_names(tmp_path: Path) -> None:
    cfg = tmp_path / "bidi.yaml"
    cfg.write_text(
        "hosts:\n"
        '  "web\\u202e1": {address: 127.0.0.1, check: none}\n'
        '  web2: {address: 127.0.0.1, check: none, display_name: "pay\\u2066roll"}\n'
        "services:\n"
        '  - {name: "disk\\u202e", host: web2, check: {type: dummy}}\n',
        encoding="utf-8",
    )
    done = cli("check-config", str(cfg))
    both = done.stdout + done.stderr
    assert done.returncode == 2, both
    # the key is named with the control escaped: shown raw it would reorder the message itself
    assert "bidi.yaml:2: hosts.web\\u202e1: must not contain bidi control characters" in both
    assert "bidi.yaml:3: hosts.web2.display_name: must not contain bidi control" in both
    assert "bidi.yaml:5: services[0].name: must not contain bidi control" in both
    assert RLO not in both and LRI not in both


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    tmp = tmp_path_factory.mktemp("bidi")
    cfg = tmp / "augenmass.yaml"
    cfg.write_text(
        "settings: {max_check_spread: 100ms}\n"
        "hosts:\n  web: {address: 127.0.0.1, check: none}\n"
        "services:\n"
        "  - name: disk\n    host: web\n    check_interval: 1s\n    max_check_attempts: 1\n"
        '    check: {type: dummy, state: critical, output: "invoice\\u202etxt.exe full"}\n',
        encoding="utf-8",
    )
    data = tmp / "data"
    made = cli("token", "create", "ops", "--scope", "read,write", "--data", str(data))
    assert made.returncode == 0, made.stderr
    boss = cli(
        "user", "add", "boss", "--role", "admin", "--password-stdin", "--data", str(data),
        stdin=f"{ADMIN_PASSWORD}\n",
    )  # fmt: skip
    assert boss.returncode == 0, boss.stderr
    server = ServerProcess(cfg, data).start()
    yield server, made.stdout.strip()
    server.stop()


def _view(c: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        view: dict[str, Any] = c.get("/api/services/web/disk").json()
        if view.get("output"):
            return view
        time.sleep(0.1)
    raise AssertionError("disk not checked within 20 s")


def test_ack_comment_and_output_without_bidi(running: tuple[ServerProcess, str]) -> None:
    server, token = running
    with client(server, headers={"Authorization": f"Bearer {token}"}) as c:
        assert _view(c)["output"] == "invoicetxt.exe full"
        comment = f"fixed by {RLO}gnp.exe{PDI} {LRI}ok"
        done = c.post(
            "/api/actions/acknowledge", json={"host": "web", "service": "disk", "comment": comment}
        )
        assert done.status_code == 200, done.text
        ack = _view(c)["acknowledgement"]
    with client(server, headers={"Origin": server.url}) as admin:  # the audit log: admins only
        login = admin.post("/api/login", json={"name": "boss", "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        # the session cookie is Secure: httpx keeps it from plain http, so it is sent by hand
        cookie = {"Cookie": f"augenmass_session={login.cookies['augenmass_session']}"}
        audit = admin.get("/api/audit", headers=cookie).text
    assert ack["comment"] == "fixed by gnp.exe ok"
    assert "fixed by gnp.exe ok" in audit
    for text in (str(ack), audit):
        assert RLO not in text and LRI not in text and PDI not in text
