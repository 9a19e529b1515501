"""Which configured values are secrets, and how the one redaction treats them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from augenmass.config import load
from augenmass.config.secretset import plan_secrets
from augenmass.core.logfmt import LogfmtFormatter
from augenmass.core.secrets import Redactor, hide_userinfo


def test_collects_every_kind_of_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AM_HOOK_SECRET", "from-the-environment")
    pw_file = tmp_path / "smtp.pw"
    pw_file.write_text("from-a-file-123\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"""
hosts:
  web:
    address: 127.0.0.1
    check: none
    vars: {{snmp_community: c0mmunity-var}}
notifications:
  smtp: {{host: 127.0.0.1, username: mon, password_file: "{pw_file}"}}
  webhooks:
    ops: {{url: "http://127.0.0.1:9/hook", secret: "${{AM_HOOK_SECRET}}"}}
services:
  - name: site
    host: web
    check:
      type: http
      url: "http://u:url-pass-w0rd@127.0.0.1/"
      headers: {{Authorization: "Bearer tok-abc-123"}}
  - name: printer
    host: web
    check: {{type: snmp, oid: 1.3.6.1.2.1.1.3.0, community: s3cret-comm}}
  - name: mail
    host: web
    check: {{type: imap, user: mon, password: imap-pass-1}}
"""
    )
    found = plan_secrets(load(cfg).plan)
    expected = {
        "from-a-file-123",
        "from-the-environment",
        "c0mmunity-var",
        "url-pass-w0rd",
        "tok-abc-123",
        "s3cret-comm",
        "imap-pass-1",
    }
    assert expected <= found
    assert "mon" not in found and "127.0.0.1" not in found  # user names and hosts are not


def test_redactor_rules() -> None:
    redact = Redactor()
    assert redact("nothing installed") == "nothing installed"
    redact.install(["abc", "public", "secret-long", "secret"])
    # tiny values and the SNMP default are not searched for; longer ones are, longest first
    assert redact("abc public secret-long secret") == "abc public **** ****"
    assert redact.secrets == {"secret-long", "secret"}


def test_url_userinfo_hidden() -> None:
    assert (
        hide_userinfo("bad url 'http://u:p@ss/w@host:99999/x'")
        == "bad url 'http://****@host:99999/x'"
    )
    assert hide_userinfo("http://host/path") == "http://host/path"


def test_a_loaded_secret_is_masked_in_log_lines(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "hosts:\n  web: {address: 127.0.0.1, check: none}\n"
        'notifications:\n  smtp: {host: 127.0.0.1, username: mon, password: "log-secret-77"}\n'
    )
    load(cfg)  # what the server does at start and on every reload
    record = logging.LogRecord("t", logging.ERROR, "", 0, "relay said %s", ("log-secret-77",), None)
    record.detail = "auth log-secret-77 refused"
    line = LogfmtFormatter().format(record)
    assert "log-secret-77" not in line
    assert 'msg="relay said ****"' in line and 'detail="auth **** refused"' in line
