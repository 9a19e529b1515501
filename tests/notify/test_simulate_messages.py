"""`augenmass simulate` prints one `message` row per message that would go out: type,
contact, channel and the checks it covers, with grouping, merging and roll-up."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from augenmass.cli.simulate import run_simulation
from augenmass.config import load_config
from notify.helpers import write_config

EXTRA = """
defaults: {max_check_attempts: 1}
templates:
  office: {notify: [office]}
"""


def simulate(tmp_path: Path, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    plan = load_config(write_config(tmp_path, 2525, EXTRA.replace("{{", "{")))
    hosts = dict(plan.hosts)
    router = hosts["router"]
    hosts["router"] = dataclasses.replace(
        router, policy=dataclasses.replace(router.policy, contact_groups=("office",))
    )
    timing = dataclasses.replace(plan.notifications, group_wait=60.0, group_interval=120.0)
    plan = dataclasses.replace(plan, hosts=hosts, notifications=timing)
    return list(run_simulation(plan, [json.dumps(x) for x in lines]))


def test_storm_is_one_message_and_a_quick_recovery_merges(tmp_path: Path) -> None:
    rows = simulate(
        tmp_path,
        [
            {"at": 0, "host": "www1", "service": "website", "state": "CRITICAL"},
            {"at": 10, "host": "www1", "service": "disk", "state": "WARNING"},
            {"at": 30, "host": "www1", "service": "website", "state": "OK"},
            {"at": 600, "host": "www1", "service": "disk", "state": "OK"},
        ],
    )
    messages = [r for r in rows if r["event"] == "message"]
    assert [(m["at"], m["contact"], m["channel"], m["type"]) for m in messages] == [
        ("1970-01-01T00:01:00Z", "alice", "email", "GROUP"),  # group_wait after the first
        ("1970-01-01T00:11:00Z", "alice", "email", "RECOVERY"),  # a new group: group_wait
    ]
    first = messages[0]["covers"]
    assert first == [
        {"type": "RECOVERY", "check": "www1/website", "state": "OK", "recovered_from": "CRITICAL"},
        {"type": "PROBLEM", "check": "www1/disk", "state": "WARNING"},
    ]


def test_host_down_is_one_message_with_what_is_behind_it(tmp_path: Path) -> None:
    rows = simulate(tmp_path, [{"at": 0, "host": "router", "state": "DOWN"}])
    [message] = [r for r in rows if r["event"] == "message"]
    assert message["contact"] == "bob" and message["type"] == "PROBLEM"
    [line] = message["covers"]
    assert line["affected"] == ["wlan", "printer", "3× phone"]  # bob reads German
    assert line["unreachable"] == ["printer", "3× phone"]
    assert message["subject"] == "PROBLEM: router ist DOWN (+4 nicht erreichbar)"


OFFICE = """
notifications: {group_wait: 30s, group_interval: 2m}
defaults: {max_check_attempts: 1, notify: [admins]}
contacts:
  alice: {language: en}
  bob: {language: de}
contact_groups:
  admins: [alice, bob]
hosts:
  office-router: {address: 127.0.0.1, check: {type: dummy}}
  printer1: {address: 127.0.0.1, parents: [office-router], check: {type: dummy}}
  printer2: {address: 127.0.0.1, parents: [office-router], check: {type: dummy}}
  wlan-ap: {address: 127.0.0.1, parents: [office-router], check: {type: dummy}}
  phone1: {address: 127.0.0.1, parents: [office-router], check: {type: dummy}}
  phone2: {address: 127.0.0.1, parents: [office-router], check: {type: dummy}}
services:
  - {name: vpn, host: office-router, check: {type: dummy}}
"""
BEHIND = ("printer1", "printer2", "wlan-ap", "phone1", "phone2")


def test_office_line_down_is_one_problem_and_one_recovery_message_per_admin(
    tmp_path: Path,
) -> None:
    (tmp_path / "office.yaml").write_text(OFFICE)
    plan = load_config(tmp_path / "office.yaml")
    script: list[dict[str, Any]] = [
        {"at": 0, "host": h, "state": "UP"} for h in ("office-router", *BEHIND)
    ]
    script += [{"at": 600, "host": "office-router", "state": "DOWN"}]
    script += [{"at": 610, "host": h, "state": "DOWN"} for h in BEHIND]  # the engine: UNREACHABLE
    script += [{"at": 620, "host": "office-router", "service": "vpn", "state": "CRITICAL"}]
    script += [{"at": 1320, "host": "office-router", "state": "UP"}]
    script += [{"at": 1330, "host": h, "state": "UP"} for h in BEHIND]
    script += [{"at": 1340, "host": "office-router", "service": "vpn", "state": "OK"}]
    rows = list(run_simulation(plan, [json.dumps(x) for x in script]))
    messages = [r for r in rows if r["event"] == "message"]
    assert [(m["at"], m["contact"], m["type"], m["subject"]) for m in messages] == [
        (
            "1970-01-01T00:10:30Z",
            "alice",
            "PROBLEM",
            "PROBLEM: office-router is DOWN (+5 unreachable)",
        ),
        (
            "1970-01-01T00:10:30Z",
            "bob",
            "PROBLEM",
            "PROBLEM: office-router ist DOWN (+5 nicht erreichbar)",
        ),
        (
            "1970-01-01T00:22:30Z",
            "alice",
            "RECOVERY",
            "RECOVERY: office-router is UP again after 12 min; all 5 behind it reachable",
        ),
        (
            "1970-01-01T00:22:30Z",
            "bob",
            "RECOVERY",
            "RECOVERY: office-router ist wieder UP nach 12 min; alle 5 dahinter erreichbar",
        ),
    ]
    problem, _, recovery, _ = messages
    [line] = problem["covers"]
    assert line["line"] == (
        "office-router is DOWN since 00:10 UTC: 2 printers, wlan-ap, 2 phones unreachable;"
        " 1 service on it affected"
    )
    assert line["unreachable"] == ["2 printers", "wlan-ap", "2 phones"]
    [line] = recovery["covers"]
    assert (line["reachable"], line["behind"]) == (5, 5) and "after 12 min" in line["line"]
    # what the engine notified, folded into these lines (the children and the vpn service,
    # as far as this engine notifies them), is counted
    assert problem["notifications"] >= 1 and recovery["notifications"] >= 1
