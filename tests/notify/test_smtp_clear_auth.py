"""A mail relay that would get the SMTP login without TLS is warned about (check-config and the
server log at start), naming the relay and never the password; mail is still sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.proc import ServerProcess, cli

pytestmark = pytest.mark.slow

PASSWORD = "clear-text-pw-1"


def _config(tmp: Path, host: str, security: str = "none") -> Path:
    cfg = tmp / f"mail-{security}.yaml"
    cfg.write_text(
        f"""
hosts:
  web: {{address: 127.0.0.1, check: none}}
notifications:
  smtp: {{host: {host}, username: mon, password: "{PASSWORD}", security: {security}}}
"""
    )
    return cfg


def test_check_config_warns_about_clear_text_auth(tmp_path: Path) -> None:
    done = cli("check-config", str(_config(tmp_path, "mail.example.org")))
    both = done.stdout + done.stderr
    assert done.returncode == 0, both
    assert done.stdout.startswith("OK: ")  # accepted, and warned about on stderr
    assert "notifications.smtp: the login to mail.example.org:25 is sent without TLS" in done.stderr
    assert PASSWORD not in both


def test_no_warning_with_tls_or_on_loopback(tmp_path: Path) -> None:
    for cfg in (_config(tmp_path, "mail.example.org", "starttls"), _config(tmp_path, "127.0.0.1")):
        done = cli("check-config", str(cfg))
        assert done.returncode == 0, done.stderr
        assert "without TLS" not in done.stdout + done.stderr


def test_server_logs_the_warning_at_start(tmp_path: Path) -> None:
    server = ServerProcess(_config(tmp_path, "mail.example.org"), tmp_path / "data").start()
    server.stop()
    log = server.log.read_text()
    line = next(ln for ln in log.splitlines() if "without TLS" in ln)
    assert "level=warning" in line
    assert PASSWORD not in log
