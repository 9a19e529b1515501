"""End-to-end: docs/semantics.md §16 scenarios written as JSONL and replayed by run_simulation."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from state_helpers import build_plan, policy

from augenmass.cli.simulate import SimulationError, run_simulation, write_simulation
from augenmass.config import load_config
from augenmass.core.plan import Contact, Escalation

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def lines(*records: dict[str, Any]) -> list[str]:
    return [json.dumps(r) for r in records]


def svc(at: str, state: str | int, **kw: Any) -> dict[str, Any]:
    return {"at": f"2026-03-01T{at}:00Z", "host": "www", "service": "https", "state": state, **kw}


def notifications(rows: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(r["at"], r["type"], r["number"]) for r in rows if r["event"] == "notification"]


def test_scenario_1_soft_recovery_via_simulate() -> None:
    script = lines(
        svc("10:00", "OK"), svc("10:01", "CRITICAL"), svc("10:02", "CRITICAL"), svc("10:03", "OK")
    )
    rows = list(run_simulation(build_plan(), script))
    assert notifications(rows) == []
    states = [(r["state"], r["state_type"], r["attempt"]) for r in rows if r["event"] == "state"]
    assert states == [
        ("OK", "HARD", 1),
        ("CRITICAL", "SOFT", 1),
        ("CRITICAL", "SOFT", 2),
        ("OK", "SOFT", 3),
    ]
    assert rows[-1] == {
        "at": "2026-03-01T10:03:00Z",
        "event": "notification_suppressed",
        "host": "www",
        "service": "https",
        "state": "OK",
        "state_type": "HARD",
        "attempt": 1,
        "output": "",
        "type": "RECOVERY",
        "reason": "soft",
    }


def test_scenario_2_hard_problem_and_recovery_via_simulate() -> None:
    script = lines(
        *(
            svc(f"10:0{i}", s)
            for i, s in enumerate(["OK", "CRITICAL", "CRITICAL", "CRITICAL", "CRITICAL", "OK"])
        )
    )
    rows = list(run_simulation(build_plan(), script))
    assert notifications(rows) == [
        ("2026-03-01T10:03:00Z", "PROBLEM", 1),
        ("2026-03-01T10:05:00Z", "RECOVERY", 2),
    ]
    problem = next(r for r in rows if r["event"] == "notification")
    assert (problem["state"], problem["state_type"], problem["attempt"]) == ("CRITICAL", "HARD", 3)
    assert problem["contacts"] == ["alice", "bob"]


def test_scenario_8_problem_inside_downtime_fires_at_its_end_via_simulate() -> None:
    script = lines(
        svc("10:00", "OK"),
        {
            "at": "2026-03-01T10:00:00Z",
            "action": "downtime",
            "host": "www",
            "service": "https",
            "start": "2026-03-01T10:00:00Z",
            "end": "2026-03-01T11:00:00Z",
            "id": "maint",
        },
        svc("10:10", 2),
        svc("10:11", 2),
        svc("10:12", 2),
        svc("11:30", 2),
    )
    rows = list(run_simulation(build_plan(), script))
    kinds = [r["event"] for r in rows]
    assert "downtime_start" in kinds and "downtime_end" in kinds
    end = next(r for r in rows if r["event"] == "downtime_end")
    assert (end["at"], end["downtime_id"], end["end"]) == (
        "2026-03-01T11:00:00Z",
        "maint",
        "2026-03-01T11:00:00Z",
    )
    assert [n for n in notifications(rows) if n[1] == "PROBLEM"] == [
        ("2026-03-01T11:00:00Z", "PROBLEM", 1)
    ]


def test_scenario_13_escalation_via_simulate() -> None:
    esc = Escalation(first=3, last=5, contact_groups=("mgrs",))
    plan = build_plan(
        svc=policy(max_check_attempts=1, notification_interval=600, escalations=(esc,)),
        contacts=[Contact("alice"), Contact("boss")],
        groups={"admins": ("alice",), "mgrs": ("boss",)},
    )
    script = lines(svc("10:00", "CRITICAL"), {"at": "2026-03-01T11:05:00Z", "action": "tick"})
    rows = list(run_simulation(plan, script))
    got = [(r["number"], r["contacts"]) for r in rows if r["event"] == "notification"]
    assert got == [
        (1, ["alice"]),
        (2, ["alice"]),
        (3, ["boss"]),
        (4, ["boss"]),
        (5, ["boss"]),
        (6, ["alice"]),
        (7, ["alice"]),
    ]


def test_host_blip_timeline_leaves_the_website_its_own_retries() -> None:
    """examples/timeline-host-blip.jsonl (docs/semantics.md §6): a SOFT DOWN host does not send
    the failing website HARD, so the web team is not told; a HARD DOWN one does, at the
    website's next result, and its PROBLEM waits for the host."""
    plan = load_config(EXAMPLES / "config")
    script = (EXAMPLES / "timeline-host-blip.jsonl").read_text().splitlines()
    rows = list(run_simulation(plan, script))
    web = [r for r in rows if r["host"] == "www1" and r["service"] == "website"]
    states = [
        (r["at"][11:19], r["state"], r["state_type"], r["attempt"])
        for r in web
        if r["event"] == "state"
    ]
    assert states == [
        ("10:00:00", "OK", "HARD", 1),
        ("10:01:05", "CRITICAL", "SOFT", 1),  # the host is SOFT DOWN
        ("10:01:25", "CRITICAL", "SOFT", 2),  # before the fix: a PROBLEM to the web team here
        ("10:01:45", "OK", "SOFT", 3),
        ("10:10:25", "CRITICAL", "SOFT", 1),  # the host is SOFT DOWN (2 of 3)
        ("10:10:45", "CRITICAL", "HARD", 3),  # the host is HARD DOWN: no more retries
        ("10:20:05", "OK", "HARD", 1),
    ]
    assert [r for r in web if r["event"] == "notification"] == []
    held = [(r["at"][11:19], r["reason"]) for r in web if r["event"] == "notification_suppressed"]
    assert ("10:10:45", "host_down") in held
    assert notifications([r for r in rows if r["service"] is None]) == [
        ("2026-03-02T10:10:40Z", "PROBLEM", 1),
        ("2026-03-02T10:20:00Z", "RECOVERY", 2),
    ]
    messages = [(r["type"], r["contact"]) for r in rows if r["event"] == "message"]
    assert messages == [("PROBLEM", "it-lead"), ("RECOVERY", "it-lead")]


def test_acknowledge_action_and_ack_of_ok_is_reported_ignored() -> None:
    script = lines(
        svc("10:00", "OK"),
        {"at": "2026-03-01T10:01:00Z", "action": "acknowledge", "host": "www", "service": "https"},
        svc("10:02", "CRITICAL"),
        svc("10:03", "CRITICAL"),
        svc("10:04", "CRITICAL"),
        {
            "at": "2026-03-01T10:05:00Z",
            "action": "acknowledge",
            "host": "www",
            "service": "https",
            "notify": True,
            "author": "ann",
            "comment": "on it",
            "expires": "2026-03-01T12:00:00Z",
        },
    )
    rows = list(run_simulation(build_plan(), script))
    ignored = [r for r in rows if r["event"] == "ignored"]
    assert ignored == [
        {
            "at": "2026-03-01T10:01:00Z",
            "event": "ignored",
            "reason": "www/https has no problem to acknowledge",
        }
    ]
    ack = next(r for r in rows if r["event"] == "acknowledgement")
    assert (ack["author"], ack["comment"], ack["expires_at"]) == (
        "ann",
        "on it",
        "2026-03-01T12:00:00Z",
    )
    assert notifications(rows)[-1][1] == "ACKNOWLEDGEMENT"


def test_write_simulation_writes_json_lines() -> None:
    out = io.StringIO()
    count = write_simulation(build_plan(), lines(svc("10:00", "OK")), out)
    written = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(written) == 1
    assert written[0]["event"] == "state"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"host": "www", "state": "OK"}', "'at' is required"),
        ('{"at": "yesterday", "host": "www", "state": "OK"}', "not an ISO 8601 time"),
        ('{"at": 1772359300, "host": "nope", "state": "OK"}', "nope is not in the configuration"),
        ('{"at": 1772359300, "host": "www", "state": "GREEN"}', "'state' must be"),
        ('{"at": 1772359300, "host": "www", "state": 7}', "'state' must be"),
        ('{"at": 1772359300, "host": "www", "state": 0, "colour": 1}', "unknown field(s): colour"),
        ('{"at": 1772359300, "action": "reboot"}', "unknown action 'reboot'"),
        ('{"at": 1772359000, "host": "www", "state": 0}', "goes back in time"),
        (
            '{"at": 1772359300, "action": "downtime", "host": "www", "start": 5, "end": 1}',
            "end must be after its start",
        ),
        (
            '{"at": 1772359300, "action": "downtime", "host": "www", "start": 1772359300,'
            ' "end": 1772362900, "fixed": false}',
            "needs a positive duration",
        ),
    ],
)
def test_bad_line_raises_with_its_line_number(bad: str, message: str) -> None:
    script = ['{"at": 1772359200, "host": "www", "state": 0}', "", "# comment", bad]
    with pytest.raises(SimulationError) as info:
        list(run_simulation(build_plan(), script))
    assert info.value.line_no == 4
    assert message in str(info.value)
    assert str(info.value).startswith("line 4: ")


def test_events_before_a_bad_line_are_still_yielded() -> None:
    rows: list[dict[str, Any]] = []
    with pytest.raises(SimulationError):
        for row in run_simulation(build_plan(), [json.dumps(svc("10:00", "CRITICAL")), "{"]):
            rows.append(row)
    assert [r["event"] for r in rows] == ["state", "notification_suppressed"]


def test_every_event_kind_serialises_to_json() -> None:
    plan = build_plan(svc=policy(max_check_attempts=1, flap_detection=True))
    script = lines(
        *(svc(f"10:{i:02d}", "CRITICAL" if i % 2 else "OK") for i in range(8)),
        {
            "at": "2026-03-01T10:10:00Z",
            "action": "acknowledge",
            "host": "www",
            "service": "https",
            "sticky": True,
            "expires": "2026-03-01T10:30:00Z",
        },
        {
            "at": "2026-03-01T10:11:00Z",
            "action": "downtime",
            "host": "www",
            "all_services": True,
            "start": "2026-03-01T10:12:00Z",
            "end": "2026-03-01T10:20:00Z",
            "id": "m",
        },
        {"at": "2026-03-01T10:15:00Z", "action": "remove_downtime", "id": "m/https"},
        {
            "at": "2026-03-01T10:16:00Z",
            "action": "remove_acknowledgement",
            "host": "www",
            "service": "https",
        },
        {"at": "2026-03-01T11:00:00Z", "host": "www", "state": "DOWN", "passive": True},
    )
    out = io.StringIO()
    write_simulation(plan, script, out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = {r["event"] for r in rows}
    assert {
        "state",
        "notification",
        "flapping_start",
        "acknowledgement",
        "acknowledgement_removed",
        "downtime_scheduled",
        "downtime_start",
        "downtime_cancelled",
        "downtime_end",
    } <= kinds
    host_rows = [r for r in rows if r["service"] is None and r["event"] == "state"]
    assert (host_rows[-1]["state"], host_rows[-1]["state_type"]) == ("DOWN", "HARD")


def test_office_outage_timeline_is_one_problem_and_one_recovery_mail() -> None:
    """examples/timeline-office-outage.jsonl (docs/semantics.md §5): the router fails with a
    child failing before it, one at the same moment and two after; the children are
    UNREACHABLE, their services "host problem"; the admin gets one problem mail naming what
    is behind the router and one recovery mail; the office manager, already told about the
    low toner before the outage, hears nothing more."""
    plan = load_config(EXAMPLES / "config")
    script = (EXAMPLES / "timeline-office-outage.jsonl").read_text().splitlines()
    rows = list(run_simulation(plan, script))
    messages = [r for r in rows if r["event"] == "message"]
    by_contact: dict[str, list[tuple[str, str]]] = {}
    for m in messages:
        by_contact.setdefault(m["contact"], []).append((m["at"][11:19], m["type"]))
    assert by_contact == {
        "office-manager": [("09:30:10", "PROBLEM")],  # before the outage
        "it-lead": [("10:40:40", "PROBLEM"), ("10:52:10", "RECOVERY")],
    }
    [down, up] = [m for m in messages if m["contact"] == "it-lead"]
    assert [c["check"] for c in down["covers"]] == ["office-router"]
    assert down["covers"][0]["unreachable"] == ["office-printer", "office-wlan", "2× office-phone"]
    assert down["subject"] == "PROBLEM: office-router ist DOWN (+4 nicht erreichbar)"
    assert up["covers"][0]["line"] == (
        "office-router ist wieder UP nach 12 min; alle 4 dahinter erreichbar"
    )
    behind = {"office-printer", "office-wlan", "office-phone-1", "office-phone-2"}
    hosts = {
        r["host"]: r["state"]
        for r in rows
        if r["event"] == "state" and r["service"] is None and r["at"] < "2026-03-02T10:52"
    }
    assert {h: hosts[h] for h in behind} == dict.fromkeys(behind, "UNREACHABLE")
    assert hosts["office-router"] == "DOWN"
