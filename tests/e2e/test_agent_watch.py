"""Watching the watcher: the agent alerts on its own channel when the server stops answering,
once, and once more when it is back; a restart of the agent in between alerts nobody twice.

Real server and agent processes (tests/e2e/test_agent.py's Setup) and a real SMTP server
(aiosmtpd, notify.helpers.MailServer)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from notify.helpers import MailServer, Received, free_port

from .test_agent import CLI, Setup, wait_for

SILENCE = 2.0
PASSWORD = "s3cret-smtp-pass"


def hold(mail: MailServer, count: int, seconds: float) -> None:
    """No mail beyond `count` for `seconds` (a second alert would come within a probe)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = mail.received()
        assert len(got) == count, [m.subject for m in got]
        time.sleep(0.1)


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Setup, MailServer]]:
    mail = MailServer(free_port())
    mail.accept()
    s = Setup(tmp_path, "127.0.0.1", "1m")
    password_file = tmp_path / "smtp-password"
    password_file.write_text(PASSWORD + "\n")
    alerts = tmp_path / "alerts.yaml"
    # a login over plain SMTP is refused by the agent (warned): aiosmtpd here offers no AUTH
    alerts.write_text(
        f"""
smtp: {{host: 127.0.0.1, port: {mail.port}, from: office-agent@example.org,
       username: office-agent, password_file: {password_file}, timeout: 5s}}
email: [admin@example.org]
timezone: UTC
"""
    )
    s.agent.argv += ["--alert-config", str(alerts), "--server-silence", f"{SILENCE:g}s"]
    try:
        yield s, mail
    finally:
        s.stop()
        mail.refuse()


def agent_log(setup: Setup) -> str:
    return (setup.tmp / "agent.log").read_text()


def test_server_silence_alerts_once_and_once_back(watched: tuple[Setup, MailServer]) -> None:
    setup, mail = watched
    setup.start_server()
    setup.tokens()
    setup.agent.start()
    wait_for(lambda: len(setup.values()) >= 2, "the agent's results at the server")
    assert mail.received() == []  # the server answers: nothing to say

    setup.server.stop()  # SIGTERM
    down: Received = wait_for(lambda: mail.received() and mail.received()[0], "the alert mail")
    assert down.rcpt_tos == ["admin@example.org"]
    assert down.subject.startswith(f"augenmass server {setup.url} not answering since ")
    assert down.subject.endswith(" UTC")
    assert "office" in down.text and "/api/health" in down.text
    hold(mail, 1, 3 * SILENCE)

    # restarted during the outage, the agent remembers that it has told the admins
    setup.agent.stop()
    setup.agent.start()
    wait_for(lambda: agent_log(setup).count("watching the server") == 2, "the agent restarted")
    hold(mail, 1, 3 * SILENCE)

    setup.start_server()  # the same port and data
    back: Received = wait_for(lambda: len(mail.received()) >= 2 and mail.received()[1], "back")
    assert back.subject.startswith(f"augenmass server {setup.url} answering again after ")
    assert back.message["In-Reply-To"] == down.message["Message-ID"]  # one thread
    hold(mail, 2, 3 * SILENCE)

    log = agent_log(setup)
    assert "without logging in" in log
    assert PASSWORD not in log


def test_a_bad_alert_file_stops_the_agent_before_it_starts(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("am_x\n")
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(
        """
server_silence: soon
smtp: {host: 127.0.0.1, port: 25, password: "${AUGENMASS_TEST_UNSET}"}
apprise: ["nosuchscheme://user:hunter2@example.org"]
"""
    )
    done = subprocess.run(
        [*CLI, "agent", "--server", "http://127.0.0.1:9", "--token-file", str(token)]
        + ["--data", str(tmp_path / "agent"), "--alert-config", str(alerts)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "not starting" in done.stderr
    assert "server_silence: " in done.stderr and "invalid duration 'soon'" in done.stderr
    # every problem is named at once, and the Apprise URL's secret is not among them
    alerts.write_text(alerts.read_text().replace("soon", "5m"))
    done = subprocess.run(done.args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "AUGENMASS_TEST_UNSET is not set" in done.stderr
    assert "apprise.0: " in done.stderr and "hunter2" not in done.stderr
    assert not (tmp_path / "agent" / "watch.json").exists()
