"""Mails say when the problem began (its first failed check) and when it was confirmed, in
settings.timezone with the zone named and in the contact's language; with settings.base_url
each entry links to the check's page in the web UI. The real engine decides, a real SMTP
server receives, and a manual clock sets the times."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from augenmass.config import load_config
from augenmass.core.plan import Plan
from augenmass.core.values import CheckKey, CheckResult, Event
from augenmass.notify import NotificationService
from augenmass.state import Engine
from augenmass.store import Store
from notify.helpers import BASE, MailServer, ManualClock, write_config

FIRST_FAILURE = datetime(2026, 1, 15, 9, 42, tzinfo=UTC).timestamp()  # 10:42 in Berlin (CET)
MINUTE = 60.0
WEBSITE = CheckKey("www1", "website")
WLAN = CheckKey("router", "wlan")
ODD = CheckKey("www1", 'cache & <hits>/s "x"')

# BASE with one more service whose name needs escaping in a URL and in HTML
ODD_BASE = BASE + (
    "  - {{name: 'cache & <hits>/s \"x\"', host: www1, check: {{type: dummy}},"
    " notify: [web-team]}}\n"
)
BERLIN = "settings: {timezone: Europe/Berlin, base_url: 'https://monitor.example.org/aug/'}\n"


def plan_for(tmp_path: Path, smtp: MailServer, settings: str) -> Plan:
    return load_config(write_config(tmp_path, smtp.port, settings, base=ODD_BASE))


def results(engine: Engine, key: CheckKey, statuses: list[int], start: float) -> list[Event]:
    """One result a minute from `start` (the retry interval), as the scheduler would run them."""
    events: list[Event] = []
    for i, status in enumerate(statuses):
        at = start + i * MINUTE
        result = CheckResult(key, status, f"status {status}", started_at=at)
        events += engine.ingest(result, at).events
        events += engine.tick(at).events
    return [e for e in events if e.kind == "notification"]


async def test_problem_mail_says_when_it_began_and_when_it_was_confirmed(
    tmp_path: Path, smtp: MailServer, store: Store, clock: ManualClock
) -> None:
    plan = plan_for(tmp_path, smtp, BERLIN)
    engine = Engine(plan)
    events: list[Event] = []
    for key in (WEBSITE, WLAN):
        results(engine, key, [0], FIRST_FAILURE - MINUTE)
        # M=3: fails at 10:42, 10:43, 10:44; HARD (confirmed) at the third
        events += results(engine, key, [2, 2, 2], FIRST_FAILURE)
    assert [(e.key, e.data["type"]) for e in events] == [(WEBSITE, "PROBLEM"), (WLAN, "PROBLEM")]
    svc = NotificationService(plan, store, clock)
    clock.t = FIRST_FAILURE + 2 * MINUTE
    await svc.handle(events)
    await svc.dispatcher.pass_once()
    mails = {m.rcpt_tos[0]: m for m in smtp.received()}
    alice, bob = mails["alice@example.org"], mails["bob@example.org"]

    assert alice.subject == "PROBLEM: www1/website is CRITICAL"
    times = "since 2026-01-15 10:42 CET (first failed check), confirmed 10:44 CET"
    assert times in alice.text and times in alice.html
    assert "https://monitor.example.org/aug/service/www1/website" in alice.text
    assert '<a href="https://monitor.example.org/aug/service/www1/website">' in alice.html

    # bob reads German: the same times, in his words
    assert bob.subject == "PROBLEM: router/wlan ist CRITICAL"
    german = "seit 2026-01-15 10:42 CET (erste fehlgeschlagene Prüfung), bestätigt 10:44 CET"
    assert german in bob.text and german in bob.html
    assert '<a href="https://monitor.example.org/aug/service/router/wlan">' in bob.html


async def test_an_undelivered_problem_merged_with_its_recovery_starts_at_the_first_failure(
    tmp_path: Path, smtp: MailServer, store: Store, clock: ManualClock
) -> None:
    plan = plan_for(tmp_path, smtp, BERLIN)
    engine = Engine(plan)
    svc = NotificationService(plan, store, clock)
    smtp.mode = "421"
    results(engine, WEBSITE, [0], FIRST_FAILURE - MINUTE)
    clock.t = FIRST_FAILURE + 2 * MINUTE
    await svc.handle(results(engine, WEBSITE, [2, 2, 2], FIRST_FAILURE))
    await svc.dispatcher.pass_once()  # refused: the PROBLEM waits
    clock.t = FIRST_FAILURE + 8 * MINUTE
    await svc.handle(results(engine, WEBSITE, [0], clock.t))
    smtp.mode = "ok"
    await svc.dispatcher.pass_once()
    [mail] = smtp.received()
    assert mail.subject == "RECOVERY: www1/website is OK (was CRITICAL from 2026-01-15 10:42 CET)"
    assert "CRITICAL from 2026-01-15 10:42 CET to 2026-01-15 10:50 CET, recovered" in mail.text


async def test_a_recovery_of_a_sent_problem_says_when_the_problem_began(
    tmp_path: Path, smtp: MailServer, store: Store, clock: ManualClock
) -> None:
    plan = plan_for(tmp_path, smtp, BERLIN)
    engine = Engine(plan)
    svc = NotificationService(plan, store, clock)
    results(engine, WEBSITE, [0], FIRST_FAILURE - MINUTE)
    clock.t = FIRST_FAILURE + 2 * MINUTE
    await svc.handle(results(engine, WEBSITE, [2, 2, 2], FIRST_FAILURE))
    await svc.dispatcher.pass_once()
    clock.t = FIRST_FAILURE + 8 * MINUTE
    await svc.handle(results(engine, WEBSITE, [0], clock.t))
    await svc.dispatcher.pass_once()
    _, recovery = smtp.received()
    expected = "since 2026-01-15 10:50 CET, the problem began 2026-01-15 10:42 CET"
    assert expected in recovery.text


async def test_the_link_to_the_page_is_escaped(
    tmp_path: Path, smtp: MailServer, store: Store, clock: ManualClock
) -> None:
    plan = plan_for(tmp_path, smtp, BERLIN)
    engine = Engine(plan)
    events = results(engine, ODD, [2, 2, 2], FIRST_FAILURE)
    svc = NotificationService(plan, store, clock)
    await svc.handle(events)
    await svc.dispatcher.pass_once()
    [mail] = smtp.received()
    # the same path the web UI links to: every character of the name percent-encoded
    url = "https://monitor.example.org/aug/service/www1/cache%20%26%20%3Chits%3E%2Fs%20%22x%22"
    assert url in mail.text
    assert f'<a href="{url}">{url}</a>' in mail.html
    assert "<hits>" not in mail.html and "cache &amp; &lt;hits&gt;/s &#34;x&#34;" in mail.html


async def test_without_a_base_url_no_link_and_utc_is_named(
    tmp_path: Path, smtp: MailServer, store: Store, clock: ManualClock
) -> None:
    plan = plan_for(tmp_path, smtp, "")
    engine = Engine(plan)
    results(engine, WEBSITE, [0], FIRST_FAILURE - MINUTE)
    events = results(engine, WEBSITE, [2, 2, 2], FIRST_FAILURE)
    svc = NotificationService(plan, store, clock)
    await svc.handle(events)
    await svc.dispatcher.pass_once()
    [mail] = smtp.received()
    assert "since 2026-01-15 09:42 UTC (first failed check), confirmed 09:44 UTC" in mail.text
    assert "http" not in mail.text and "<a " not in mail.html and "href" not in mail.html
