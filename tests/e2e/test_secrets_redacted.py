"""Configured secrets never reach an output: check-config errors, the server log on a refused
reload, check outputs (real CLI and server processes)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.proc import ServerProcess, cli, client

pytestmark = pytest.mark.slow

SMTP_PW = "s3cret-smtp-pw"
HOOK_SECRET = "hook-secret-4242"
NUMBER_PW = "12345678"
NUMBER_HOOK = "87654321"

GOOD = f"""
settings: {{max_check_spread: 100ms}}
hosts:
  web: {{address: 127.0.0.1, check: none}}
notifications:
  smtp: {{host: 127.0.0.1, port: 2525, username: mon, password: "{SMTP_PW}", security: starttls}}
  webhooks:
    ops: {{url: "http://127.0.0.1:9/hook", secret: "{HOOK_SECRET}"}}
services:
  - name: leak
    host: web
    check_interval: 1s
    max_check_attempts: 1
    check: {{type: dummy, state: ok, output: "logged in with {SMTP_PW} and {HOOK_SECRET}"}}
"""

# numbers where text is wanted: pydantic's message quoted the value
BROKEN = f"""
hosts:
  web: {{address: 127.0.0.1, check: none}}
notifications:
  smtp: {{host: 127.0.0.1, password: {NUMBER_PW}}}
  webhooks:
    ops: {{url: "http://127.0.0.1:9/hook", secret: {NUMBER_HOOK}}}
"""


def test_check_config_never_quotes_a_secret(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.yaml"
    cfg.write_text(BROKEN)
    done = cli("check-config", str(cfg))
    both = done.stdout + done.stderr
    assert done.returncode == 2, both
    # file, line and key of each error, and what was wrong with it
    assert "broken.yaml:5: notifications.smtp.password: input should be a valid string" in both
    assert "broken.yaml:7: notifications.webhooks.ops.secret:" in both
    assert NUMBER_PW not in both and NUMBER_HOOK not in both


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    tmp = tmp_path_factory.mktemp("secrets")
    cfg = tmp / "augenmass.yaml"
    cfg.write_text(GOOD)
    data = tmp / "data"
    made = cli("token", "create", "reader", "--scope", "read", "--data", str(data))
    assert made.returncode == 0, made.stderr
    server = ServerProcess(cfg, data).start()
    yield server, made.stdout.strip()
    server.stop()


def _wait(what: str, predicate: Any, limit: float = 20.0) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"{what} within {limit} s")


def _log_with(server: ServerProcess, needle: str) -> str:
    text = server.log.read_text()
    return text if needle in text else ""


def test_check_output_is_masked(running: tuple[ServerProcess, str]) -> None:
    server, token = running
    with client(server, headers={"Authorization": f"Bearer {token}"}) as c:
        view = _wait(
            "the leak service checked",
            lambda: (v := c.get("/api/services/web/leak").json()).get("output") and v,
        )
    assert view["output"] == "logged in with **** and ****"


def test_refused_reload_logs_no_secret(running: tuple[ServerProcess, str]) -> None:
    server, _ = running
    assert server.proc is not None
    server.config.write_text(BROKEN)
    server.proc.send_signal(signal.SIGHUP)
    log = _wait("the reload refused", lambda: _log_with(server, "reload refused"))
    assert "notifications.smtp.password" in log  # the error is named
    for secret in (NUMBER_PW, NUMBER_HOOK, SMTP_PW, HOOK_SECRET):
        assert secret not in log
