"""The real `augenmass run` process: CLI users and tokens, the API over TCP, privacy."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from augenmass.cli.main import app as cli_app

from .conftest import CONFIG
from .proc import ServerProcess, cli, client

pytestmark = pytest.mark.slow

SENTINEL_IP = "127.0.0.77"
FORWARDED_IP = "203.0.113.77"
SPOOF = {
    "X-Forwarded-For": FORWARDED_IP,
    "X-Real-IP": FORWARDED_IP,
    "Forwarded": f"for={FORWARDED_IP}",
}


def run_cli(*args: str, stdin: str | None = None) -> tuple[int, str]:
    """The real CLI commands in-process (a subprocess per call costs a second of imports)."""
    result = CliRunner().invoke(cli_app, list(args), input=stdin)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    tmp = tmp_path_factory.mktemp("e2e")
    cfg = tmp / "augenmass.yaml"
    cfg.write_text(CONFIG)
    data = tmp / "data"
    server = ServerProcess(cfg, data)
    # once through the installed entry point, the rest in-process
    add = cli(
        "user",
        "add",
        "olga",
        "--role",
        "operator",
        "--password-stdin",
        "--data",
        str(data),
        stdin="brass-lantern-orbit-42\n",
    )
    assert add.returncode == 0, add.stderr
    code, out = run_cli("token", "create", "agent", "--scope", "read,write,submit", "-d", str(data))
    assert code == 0, out
    token = out.strip()
    assert token.startswith("am_")
    server.start()
    yield server, token
    server.stop()


def test_cli_users_and_tokens_against_the_running_server(
    running: tuple[ServerProcess, str],
) -> None:
    server, _ = running
    d = ["--data", str(server.data)]
    code, out = run_cli(
        "user", "add", "olga", "--password-stdin", *d, stdin="brass-lantern-orbit-43\n"
    )
    assert code == 1 and "exists" in out
    code, out = run_cli("token", "list", *d)
    assert "agent\tread,submit,write" in out and "am_" not in out
    code, out = run_cli("token", "create", "probe", "--scope", "read", *d)
    probe = {"Authorization": f"Bearer {out.strip()}"}
    with client(server) as c:
        ok = c.post("/api/login", json={"name": "olga", "password": "brass-lantern-orbit-42"})
        cookie = {"Cookie": f"augenmass_session={ok.cookies['augenmass_session']}"}
        assert c.get("/api/session", headers=cookie).status_code == 200
        assert (
            run_cli(
                "user", "passwd", "olga", "--password-stdin", *d, stdin="copper-kettle-drift-17\n"
            )[0]
            == 0
        )
        assert c.get("/api/session", headers=cookie).status_code == 401
        ok = c.post("/api/login", json={"name": "olga", "password": "copper-kettle-drift-17"})
        assert ok.status_code == 200
        cookie = {"Cookie": f"augenmass_session={ok.cookies['augenmass_session']}"}
        assert run_cli("user", "role", "olga", "admin", *d)[0] == 0
        assert c.get("/api/session", headers=cookie).status_code == 401
        assert "olga\tadmin" in run_cli("user", "list", *d)[1]
        code, out = run_cli("user", "role", "olga", "root", *d)
        assert code == 1 and "unknown role" in out
        assert c.get("/api/problems", headers=probe).status_code == 200
        assert run_cli("token", "revoke", "probe", *d)[0] == 0
        assert c.get("/api/problems", headers=probe).status_code == 401
        assert run_cli("user", "role", "olga", "operator", *d)[0] == 0


def test_api_over_tcp_and_nothing_keeps_the_client_address(
    running: tuple[ServerProcess, str],
) -> None:
    server, token = running
    bearer = {"Authorization": f"Bearer {token}", **SPOOF}
    # a user of its own: olga's password is the other test's to change (either may run first,
    # or alone on a pytest-xdist worker)
    code, out = run_cli(
        "user", "add", "ines", "--role", "operator", "--password-stdin",
        "--data", str(server.data), stdin="willow-signal-cobalt-58\n",
    )  # fmt: skip
    assert code == 0, out
    with client(server, SENTINEL_IP, headers=SPOOF) as c:
        ok = c.post("/api/login", json={"name": "ines", "password": "willow-signal-cobalt-58"})
        assert ok.status_code == 200
        cookie = ok.cookies["augenmass_session"]
        csrf = ok.json()["csrf_token"]
        assert c.post("/api/login", json={"name": "ines", "password": "no"}).status_code == 401
        assert c.get("/api/nope").status_code == 404
        assert c.get("/static/nope.css").status_code == 404
        bad_token = c.get("/api/problems", headers={"Authorization": "Bearer am_bad"})
        assert bad_token.status_code == 401
        session = {"Cookie": f"augenmass_session={cookie}"}
        no_csrf = c.post(
            "/api/actions/acknowledge", json={"host": "web1", "service": "disk"}, headers=session
        )
        assert no_csrf.status_code == 403
        bad_json = c.post(
            "/api/actions/process-check-result",
            content=b"{not json",
            headers={**bearer, "content-type": "application/json"},
        )
        assert bad_json.status_code == 422
        huge = c.post(
            "/api/actions/process-check-result",
            content=b"x" * (2 * 1024 * 1024),
            headers={**bearer, "content-type": "application/json"},
        )
        assert huge.status_code == 413
        deadline = time.monotonic() + 15
        probs: list[dict[str, str]] = []
        while time.monotonic() < deadline:
            probs = c.get("/api/problems", headers=bearer).json()["problems"]
            if len(probs) == 2:
                break
            time.sleep(0.2)
        assert [p["service"] for p in probs] == ["disk", "load"]
        ack = c.post(
            "/api/actions/acknowledge",
            json={"host": "web1", "service": "disk", "comment": "seen"},
            headers={**session, "X-CSRF-Token": csrf},
        )
        assert ack.status_code == 200, ack.text
        assert c.get("/metrics", headers=bearer).status_code == 200
    # garbage on the wire from the sentinel address: uvicorn's own warnings must not carry it
    with socket.create_connection(("127.0.0.1", server.port), source_address=(SENTINEL_IP, 0)) as s:
        s.sendall(b"\x16\x03\x01garbage \r\n\r\n")
        s.settimeout(5)
        try:
            s.recv(1024)
        except OSError:
            pass
    assert httpx.get(f"{server.url}/api/health", timeout=5).status_code == 200
    status = cli("status", "--json", "--data", str(server.data))
    assert '"acknowledged": true' in status.stdout
    assert server.stop() == 0
    files = server.files()
    assert server.log in files and any(p.name == "augenmass.db" for p in files)
    for path, blob in files.items():
        for needle in (SENTINEL_IP, FORWARDED_IP):
            assert needle.encode() not in blob, f"{needle} found in {path}"


def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        cfg = tmp_path / "augenmass.yaml"
        cfg.write_text(CONFIG)
        server = ServerProcess(cfg, tmp_path / "data")
        server.port = port
        with pytest.raises(AssertionError):
            server.start(timeout=2)
        assert server.proc is not None
        # the server does not run on without its API: it stops with an error
        assert server.proc.wait(timeout=20) == 1
        server.stop()
    assert "cannot listen" in server.log.read_text()
