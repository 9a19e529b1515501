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
    assert message["covers"][0]["affected"] == ["wlan", "printer", "3× phone"]  # bob reads German
    assert message["subject"] == "PROBLEM: router ist DOWN: wlan, printer, 3× phone betroffen"
