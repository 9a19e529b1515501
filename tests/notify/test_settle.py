"""The settle window: a host's DOWN/UP with things behind it waits for their re-checks."""

from __future__ import annotations

from pathlib import Path

from augenmass.config import load_config
from augenmass.core.plan import Plan
from augenmass.notify.settle import row_wait

CONFIG = """
hosts:
  router: {address: 127.0.0.1, check: {type: tcp, port: 80, timeout: 4s}}
  printer:
    address: 127.0.0.2
    parents: [router]
    check: {type: tcp, port: 9100, timeout: 3s}
  lonely: {address: 127.0.0.3, check: {type: tcp, port: 22}}
services:
  - name: toner
    host: printer
    check: {type: tcp, port: 161, timeout: 20s}
notifications:
  group_wait: 10s
"""


def plan(tmp_path: Path, extra: str = "") -> Plan:
    path = tmp_path / "augenmass.yaml"
    path.write_text(CONFIG + extra)
    return load_config(path)


def test_a_host_with_hosts_or_services_behind_waits_for_their_re_checks(tmp_path: Path) -> None:
    p = plan(tmp_path)
    # the printer's own check (3 s) is behind the router; group_wait (10 s) is longer
    assert row_wait(p, "router", "", "PROBLEM") == 10.0
    # the toner's 20 s timeout is behind the printer: 25 s, for its DOWN and its UP alike
    assert row_wait(p, "printer", "", "PROBLEM") == 25.0
    assert row_wait(p, "printer", "", "RECOVERY") == 25.0
    # a service, an acknowledgement, a host with nothing behind it: group_wait
    assert row_wait(p, "printer", "toner", "PROBLEM") == 10.0
    assert row_wait(p, "printer", "", "ACKNOWLEDGEMENT") == 10.0
    assert row_wait(p, "lonely", "", "PROBLEM") == 10.0


def test_the_settle_window_can_be_set_and_never_runs_below_group_wait(tmp_path: Path) -> None:
    p = plan(tmp_path, "  settle: 40s\n")
    assert row_wait(p, "router", "", "PROBLEM") == 40.0
    assert row_wait(p, "lonely", "", "PROBLEM") == 10.0
    p = plan(tmp_path, "  settle: 2s\n")
    assert row_wait(p, "printer", "", "RECOVERY") == 10.0
