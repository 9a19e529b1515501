"""Full round trip with a real `augenmass run` process and a real SMTP server: a plugin flips
to CRITICAL, the mail comes after exactly the configured attempts, the recovery follows and
threads with it; an SMTP outage loses nothing; kill -9 between outbox write and send, then a
restart: the mail arrives exactly once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.helpers import ServerProcess, cli, wait_for
from notify.helpers import MailServer

pytestmark = pytest.mark.slow

FLAKY = """#!/bin/sh
code=$(cat "$(dirname "$0")/flaky.state" 2>/dev/null || echo 0)
echo "flaky says $code"
exit "$code"
"""


def config(port: int, plugin: Path) -> str:
    return f"""
settings: {{max_check_spread: 1s}}
notifications:
  smtp: {{host: 127.0.0.1, port: {port}, from: monitor@example.org, timeout: 3s}}
  group_wait: 0s
  group_interval: 0s
  retry_initial: 500ms
  retry_max: 1s
contacts:
  alice: {{email: alice@example.org}}
contact_groups:
  web-team: [alice]
hosts:
  app: {{address: 127.0.0.1}}
services:
  - name: flaky
    host: app
    check_interval: 1s
    retry_interval: 1s
    max_check_attempts: 3
    notify: [web-team]
    check: {{type: plugin, command: [{plugin}]}}
"""


@pytest.fixture
def setup(tmp_path: Path, smtp: MailServer) -> Iterator[tuple[ServerProcess, Path]]:
    plugin = tmp_path / "flaky.sh"
    plugin.write_text(FLAKY)
    plugin.chmod(0o755)
    (tmp_path / "flaky.state").write_text("0")
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(config(smtp.port, plugin))
    server = ServerProcess(cfg, tmp_path / "data")
    yield server, tmp_path / "flaky.state"
    server.stop()


def notify_log(server: ServerProcess) -> list[dict[str, object]]:
    out = cli("notify", "log", "--json", "--data", str(server.data), check=True)
    return list(reversed(json.loads(out.stdout)))


def test_problem_after_exact_attempts_then_recovery(setup, smtp: MailServer) -> None:
    server, state = setup
    server.start()
    wait_for(lambda: server.status().get("app/flaky", {}).get("state") == "OK", 20, "OK")
    state.write_text("2")
    [problem] = wait_for(smtp.received, 30, "the problem mail")
    assert problem.subject == "PROBLEM: app/flaky is CRITICAL"
    assert problem.rcpt_tos == ["alice@example.org"]
    notes = [e for e in server.history("app", "flaky") if e.kind == "notification"]
    assert [(e.state_type.value, e.attempt) for e in notes] == [("HARD", 3)]
    soft = [e for e in server.history("app", "flaky") if e.kind == "state" and e.state == 2]
    assert len(soft) >= 1
    state.write_text("0")
    wait_for(lambda: len(smtp.received()) == 2, 30, "the recovery mail")
    recovery = smtp.received()[1]
    assert recovery.subject.startswith("RECOVERY: app/flaky is OK")
    assert recovery.message["In-Reply-To"] == problem.message["Message-ID"]
    log = notify_log(server)
    assert [(r["contact"], r["result"]) for r in log] == [("alice", "sent"), ("alice", "sent")]
    assert "example.org" not in server.log.read_text()  # no address in the server's log


def test_smtp_down_for_a_while_loses_nothing(setup, smtp: MailServer) -> None:
    server, state = setup
    smtp.refuse()
    server.start()
    state.write_text("2")
    wait_for(
        lambda: any(r["result"] == "retry" for r in notify_log(server)), 30, "a failed attempt"
    )
    time.sleep(1.5)  # a few more refused attempts
    smtp.accept()
    wait_for(smtp.received, 30, "the mail after the outage")
    time.sleep(1.5)
    assert len(smtp.received()) == 1


def test_kill_9_between_outbox_write_and_send_then_exactly_once(setup, smtp: MailServer) -> None:
    server, state = setup
    smtp.mode = "stall"  # the row is written and its send hangs in DATA
    server.start()
    state.write_text("2")
    wait_for(lambda: smtp.attempts >= 1, 30, "the stalled send")
    server.kill9()
    smtp.mode = "ok"
    assert smtp.received() == []
    server.start()
    [mail] = wait_for(smtp.received, 30, "the mail after the restart")
    assert mail.subject == "PROBLEM: app/flaky is CRITICAL"
    time.sleep(2.0)  # a second copy would come within the retry interval
    assert len(smtp.received()) == 1
