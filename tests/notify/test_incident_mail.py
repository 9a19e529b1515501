"""When the office router goes down: the mails say what happened. The real engine decides,
a real SMTP server receives, a manual clock sets the times; the hosts behind the router
(`parents:`) are named as unreachable in the root cause's line, the recovery says how long
it lasted and how many of them are reachable again."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from augenmass.config import load_config
from augenmass.core.messages import Item
from augenmass.core.plan import Plan
from augenmass.core.values import CheckKey, CheckResult, Event
from augenmass.notify import NotificationService
from augenmass.notify.grouping import Tree, build_message
from augenmass.notify.message import Renderer, duration_text, render
from augenmass.state import Engine
from augenmass.store import Store
from notify.helpers import MailServer, ManualClock

DOWN_AT = datetime(2026, 1, 15, 9, 42, tzinfo=UTC).timestamp()  # 10:42 in Berlin (CET)
MINUTE = 60.0
BEHIND = ("printer1", "printer2", "wlan-ap", "phone1", "phone2")

OFFICE = """
settings: {{timezone: Europe/Berlin}}
notifications:
  smtp: {{host: 127.0.0.1, port: {port}, from: monitor@example.org, timeout: 5s}}
  group_wait: 0s
  group_interval: 0s
defaults: {{max_check_attempts: 1, notify: [admins]}}
contacts:
  alice: {{email: alice@example.org, language: en}}
  bob: {{email: bob@example.org, language: de}}
contact_groups:
  admins: [alice, bob]
hosts:
  office-router: {{address: 127.0.0.1, check: {{type: dummy}}}}
  printer1: {{address: 127.0.0.1, parents: [office-router], check: {{type: dummy}}}}
  printer2: {{address: 127.0.0.1, parents: [office-router], check: {{type: dummy}}}}
  wlan-ap: {{address: 127.0.0.1, parents: [office-router], check: {{type: dummy}}}}
  phone1: {{address: 127.0.0.1, parents: [office-router], check: {{type: dummy}}}}
  phone2: {{address: 127.0.0.1, parents: [office-router], check: {{type: dummy}}}}
services:
  - {{name: vpn, host: office-router, check: {{type: dummy}}}}
"""


def office(tmp_path: Path, port: int = 2525, more_hosts: str = "") -> Plan:
    """The office (hosts behind the router), with `more_hosts` lines in `hosts:`."""
    text = textwrap.dedent(OFFICE.format(port=port))
    text = text.replace("services:", more_hosts + "services:")
    path = tmp_path / "augenmass.yaml"
    path.write_text(text)
    return load_config(path)


def run(engine: Engine, at: float, results: dict[str, int]) -> list[Event]:
    """One round of host checks at `at` (router first, as the scheduler's parent-first order
    would find them); the notification events. A failing host check exits 2 (a host's 1,
    WARNING, counts as UP in Nagios)."""
    events: list[Event] = []
    for host, status in results.items():
        key = CheckKey(host)
        result = CheckResult(key, status, f"status {status}", started_at=at)
        events += engine.ingest(result, at).events
        events += engine.tick(at).events
    return [e for e in events if e.kind == "notification"]


def up_everywhere(engine: Engine) -> None:
    run(engine, DOWN_AT - 10 * MINUTE, {"office-router": 0, **dict.fromkeys(BEHIND, 0)})


async def send(svc: NotificationService, clock: ManualClock, at: float, events: list[Event]):
    clock.t = at
    await svc.handle(events)
    await svc.dispatcher.pass_once()
    clock.t = at + 61  # past the settle window a root cause's mail may wait (60 s at most)
    await svc.dispatcher.pass_once()


def by_contact(smtp: MailServer, start: int = 0) -> dict[str, list[str]]:
    mails: dict[str, list[str]] = {}
    for mail in smtp.received()[start:]:
        mails.setdefault(mail.rcpt_tos[0].split("@")[0], []).append(mail.subject)
    return mails


async def test_office_line_down_is_one_problem_mail_and_one_recovery_mail(
    tmp_path: Path, smtp: MailServer, store: Store, clock: ManualClock
) -> None:
    plan = office(tmp_path, smtp.port)
    engine = Engine(plan)
    svc = NotificationService(plan, store, clock)
    up_everywhere(engine)

    events = run(engine, DOWN_AT, {"office-router": 2, **dict.fromkeys(BEHIND, 2)})
    await send(svc, clock, DOWN_AT, events)
    assert by_contact(smtp) == {
        "alice": ["PROBLEM: office-router is DOWN (+5 unreachable)"],
        "bob": ["PROBLEM: office-router ist DOWN (+5 nicht erreichbar)"],
    }
    alice = next(m for m in smtp.received() if m.rcpt_tos == ["alice@example.org"])
    bob = next(m for m in smtp.received() if m.rcpt_tos == ["bob@example.org"])
    line = (
        "office-router is DOWN since 10:42 CET: 2 printers, wlan-ap, 2 phones unreachable;"
        " 1 service on it affected"
    )
    assert f"PROBLEM: {line} (notification 1)" in alice.text and line in alice.html
    assert "printer1" not in alice.text  # folded into the router's line: no line of its own
    german = (
        "office-router ist seit 10:42 CET DOWN: 2× printer, wlan-ap, 2× phone nicht erreichbar;"
        " 1 Dienst darauf betroffen"
    )
    assert german in bob.text and german in bob.html

    back = DOWN_AT + 12 * MINUTE
    events = run(engine, back, {"office-router": 0, **dict.fromkeys(BEHIND, 0)})
    await send(svc, clock, back, events)
    assert by_contact(smtp, 2) == {
        "alice": ["RECOVERY: office-router is UP again after 12 min; all 5 behind it reachable"],
        "bob": ["RECOVERY: office-router ist wieder UP nach 12 min; alle 5 dahinter erreichbar"],
    }
    recovery = next(m for m in smtp.received()[2:] if m.rcpt_tos == ["alice@example.org"])
    assert "the problem began 2026-01-15 10:42 CET" in recovery.text
    assert "RECOVERY: printer1" not in recovery.text and "RECOVERY: phone" not in recovery.text


async def test_a_host_still_down_behind_the_recovered_router_keeps_its_line(
    tmp_path: Path, smtp: MailServer, store: Store, clock: ManualClock
) -> None:
    plan = office(tmp_path, smtp.port)
    engine = Engine(plan)
    svc = NotificationService(plan, store, clock)
    up_everywhere(engine)
    await send(svc, clock, DOWN_AT, run(engine, DOWN_AT, {"office-router": 2, "printer1": 2}))
    back = DOWN_AT + 12 * MINUTE
    # the router answers again, the printer does not: now it is DOWN itself
    events = run(engine, back, {"office-router": 0, "printer1": 2})
    await send(svc, clock, back, events)
    alice = [m for m in smtp.received() if m.rcpt_tos == ["alice@example.org"]][1:]
    assert [m.subject for m in alice] == ["2 notifications: office-router, printer1"]
    [mail] = alice
    assert (
        "RECOVERY: office-router is UP again after 12 min; 4 of 5 behind it reachable" in mail.text
    )
    assert "PROBLEM: printer1 is DOWN" in mail.text


def item(number: int, kind: str, host: str, state: int, at: float, **data: float) -> Item:
    return Item(number, at, "alice", "email", kind, host, "", state, 1, at, "out", data)


def test_names_are_escaped_in_the_html_mail_and_plain_in_the_text(tmp_path: Path) -> None:
    odd = 'lab<b>&"x"'
    lab = f"  '{odd}': {{address: 127.0.0.1, parents: [office-router]}}\n"
    plan = office(tmp_path, more_hosts=lab)
    renderer = Renderer(None, "Europe/Berlin")
    down = build_message([item(1, "PROBLEM", "office-router", 1, DOWN_AT)], plan, "x")
    mail = render(renderer, down, "alice", "en")
    assert odd in mail.text and "lab&lt;b&gt;&amp;&#34;x&#34;" in mail.html
    assert odd not in (mail.html or "") and "<b>" not in (mail.html or "")
    later = build_message([item(2, "PROBLEM", odd, 2, DOWN_AT + 60)], plan, "x")
    mail = render(renderer, later, "alice", "en")
    assert mail.subject == f"PROBLEM: {odd} is UNREACHABLE: still part of the office-router outage"
    assert "<h3>PROBLEM: lab&lt;b&gt;&amp;&#34;x&#34; is UNREACHABLE: still part" in (
        mail.html or ""
    )


def test_a_later_unreachable_host_reads_as_part_of_the_outage_not_a_new_one(
    tmp_path: Path,
) -> None:
    plan = office(tmp_path)
    renderer = Renderer(None, "Europe/Berlin")
    # the router's DOWN went out before; a phone's problem and a service of it come now
    items = [item(1, "PROBLEM", "phone1", 2, DOWN_AT + 300, began=DOWN_AT)]
    items.append(
        Item(2, DOWN_AT + 300, "bob", "email", "PROBLEM", "phone1", "sip", 2, 1, DOWN_AT, "x")
    )
    message = build_message(items, plan, "x")
    assert [e.part_of for e in message.entries] == [("office-router",), ("office-router",)]
    mail = render(renderer, message, "bob", "de")
    assert "PROBLEM: phone1 ist UNREACHABLE: gehört noch zum Ausfall von office-router" in (
        mail.text
    )
    assert "PROBLEM: phone1/sip ist CRITICAL: gehört noch zum Ausfall von office-router" in (
        mail.text
    )


def test_a_host_with_another_way_in_is_not_said_to_be_unreachable(tmp_path: Path) -> None:
    # the lab hangs on the router and on a second line; the desk only behind the lab
    more = """\
      lte-router: {address: 127.0.0.1}
      lab: {address: 127.0.0.1, parents: [office-router, lte-router]}
      desk: {address: 127.0.0.1, parents: [lab]}
    """
    plan = office(tmp_path, more_hosts=textwrap.indent(textwrap.dedent(more), "  "))
    tree = Tree(plan)
    assert tree.behind("office-router") == [*BEHIND]  # lab has another way in
    assert tree.behind("office-router", ["lte-router"]) == [*BEHIND, "lab", "desk"]
    message = build_message(
        [
            item(1, "PROBLEM", "office-router", 1, DOWN_AT),
            item(2, "PROBLEM", "lab", 2, DOWN_AT),
        ],
        plan,
        "x",
    )
    router, lab = message.entries  # the lab's line is its own: the router alone is not why
    assert router.behind == BEHIND and lab.part_of == ("office-router", "lte-router")
    subject = render(Renderer(None, "Europe/Berlin"), message, "alice", "en").subject
    assert subject == "2 notifications: office-router (+5), lab"


@pytest.mark.parametrize(
    ("seconds", "en", "de"),
    [
        (40, "40 s", "40 s"),
        (12 * 60 + 59, "12 min", "12 min"),
        (3600, "1 h", "1 h"),
        (2 * 3600 + 5 * 60, "2 h 5 min", "2 h 5 min"),
        (3 * 86400 + 4 * 3600 + 60, "3 d 4 h", "3 T 4 h"),
    ],
)
def test_how_long_it_lasted(seconds: float, en: str, de: str) -> None:
    assert (duration_text(seconds, "en"), duration_text(seconds, "de")) == (en, de)
