"""Delivery through a real SMTP server: retries, permanent failures, grouping, merging,
threading, escaping. The dispatcher's passes are driven by hand with a manual clock, so the
timing is exact and nothing sleeps."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from augenmass.notify import NotificationService
from augenmass.store import Store
from augenmass.store.notify_schema import notify_log, notify_outbox
from notify.helpers import MailServer, ManualClock, make_plan, note


async def service_for(
    tmp_path: Path, smtp: MailServer, store: Store, clock: ManualClock, extra: str = ""
) -> NotificationService:
    return NotificationService(make_plan(tmp_path, smtp.port, extra), store, clock)


async def rows(store: Store) -> list[sa.Row[tuple[object, ...]]]:
    async with store.engine.connect() as conn:
        return list(await conn.execute(sa.select(notify_outbox).order_by(notify_outbox.c.id)))


async def test_problem_mail_reaches_the_contact_with_stable_headers(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock)
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"], "CRITICAL - 503")])
    assert len(await rows(store)) == 1  # in the outbox before any send
    await svc.dispatcher.pass_once()
    [mail] = smtp.received()
    assert mail.rcpt_tos == ["alice@example.org"]
    assert mail.subject == "PROBLEM: www1/website is CRITICAL"
    assert "CRITICAL - 503" in mail.text and "notification 1" in mail.text
    assert mail.message["Message-ID"].startswith("<augenmass.") and "@example.org>" in str(
        mail.message["Message-ID"]
    )
    [row] = await rows(store)
    assert row.status == "sent" and row.message_id == mail.message["Message-ID"]
    assert svc.stats.sent == 1
    async with store.engine.connect() as conn:
        [log] = list(await conn.execute(sa.select(notify_log)))
    assert (log.contact, log.channel, log.result) == ("alice", "email", "sent")
    assert "@" not in f"{log.checks}{log.detail}"  # the log names people, never addresses


async def test_421_is_retried_with_backoff_and_delivered_once(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock)
    smtp.mode = "421"
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
    await svc.dispatcher.pass_once()
    [row] = await rows(store)
    assert (row.status, row.attempts) == ("pending", 1) and "421" in row.last_error
    assert row.due == clock.t + 1.0  # retry_initial
    await svc.dispatcher.pass_once()  # not yet due: nothing tried
    assert smtp.attempts == 1
    clock.t += 1.0
    await svc.dispatcher.pass_once()
    [row] = await rows(store)
    assert row.attempts == 2 and row.due == clock.t + 2.0  # doubled
    smtp.mode = "ok"
    clock.t += 2.0
    await svc.dispatcher.pass_once()
    await svc.dispatcher.pass_once()
    assert len(smtp.received()) == 1
    assert (await rows(store))[0].status == "sent"


async def test_550_fails_visibly_after_bounded_tries(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock)
    smtp.mode = "550"
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
    for _ in range(5):
        await svc.dispatcher.pass_once()
        clock.t += 60
    [row] = await rows(store)
    assert (row.status, row.attempts) == ("failed", 2)  # permanent_attempts
    assert "550" in row.last_error
    assert svc.stats.failed == 1 and smtp.received() == []
    counts = await svc.outbox.counts()
    assert counts == {"pending": 0, "sent": 0, "failed": 1}


async def test_server_down_for_a_while_loses_nothing(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock, "notifications: {}\n" * 0)
    smtp.refuse()
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
    await svc.dispatcher.pass_once()
    clock.t += 1
    await svc.handle([note(clock.t, "www1", "disk", "PROBLEM", 1, ["alice"])])
    await svc.dispatcher.pass_once()
    assert [r.status for r in await rows(store)] == ["pending", "pending"]
    smtp.accept()
    clock.t += 10
    await svc.dispatcher.pass_once()
    [mail] = smtp.received()  # both, in one message
    assert "www1/website" in mail.text and "www1/disk" in mail.text
    assert mail.subject.startswith("2 notifications:")


async def test_undelivered_problem_is_merged_with_its_recovery(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock)
    smtp.mode = "421"
    start = 1_700_000_520.0  # 2023-11-14 22:22 UTC
    clock.t = start
    await svc.handle([note(start, "www1", "website", "PROBLEM", 2, ["alice"])])
    await svc.dispatcher.pass_once()
    clock.t = start + 420
    await svc.handle([note(clock.t, "www1", "website", "RECOVERY", 0, ["alice"], "OK")])
    smtp.mode = "ok"
    await svc.dispatcher.pass_once()
    [mail] = smtp.received()
    assert mail.subject == "RECOVERY: www1/website is OK (was CRITICAL from 2023-11-14 22:22 UTC)"
    assert "CRITICAL from 2023-11-14 22:22 UTC to 2023-11-14 22:29 UTC, recovered" in mail.text
    assert [r.status for r in await rows(store)] == ["sent", "sent"]


async def test_recovery_threads_with_its_problem(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock)
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
    await svc.dispatcher.pass_once()
    clock.t += 300
    await svc.handle([note(clock.t, "www1", "website", "RECOVERY", 0, ["alice"])])
    await svc.dispatcher.pass_once()
    problem, recovery = smtp.received()
    assert recovery.message["In-Reply-To"] == problem.message["Message-ID"]
    assert problem.message["Message-ID"] in str(recovery.message["References"])
    assert recovery.message["Message-ID"] != problem.message["Message-ID"]


async def test_storm_for_one_contact_is_one_message(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock, "")
    svc.plan = make_plan(tmp_path, smtp.port)
    events = [note(clock.t, "www1", s, "PROBLEM", 2, ["alice", "bob"]) for s in ("website", "disk")]
    events.append(note(clock.t, "router", "wlan", "PROBLEM", 2, ["bob"]))
    await svc.handle(events)
    await svc.dispatcher.pass_once()
    mails = {m.rcpt_tos[0]: m for m in smtp.received()}
    assert set(mails) == {"alice@example.org", "bob@example.org"}
    assert mails["alice@example.org"].subject == ("2 notifications: www1/website, www1/disk")
    assert mails["bob@example.org"].subject.startswith("3 Benachrichtigungen:")  # bob: de


async def test_group_wait_and_interval_gather_a_storm(tmp_path, smtp, store, clock):
    extra = "settings: {}\n"
    plan_text = (tmp_path / "x").as_posix()
    del plan_text, extra
    svc = await service_for(tmp_path, smtp, store, clock)
    svc.reload(_with_timing(svc.plan, wait=30.0, interval=120.0))
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
    assert await svc.dispatcher.pass_once() <= 1.0
    assert smtp.received() == []  # waiting for company
    clock.t += 10
    await svc.handle([note(clock.t, "www1", "disk", "PROBLEM", 2, ["alice"])])
    clock.t += 20
    await svc.dispatcher.pass_once()
    assert len(smtp.received()) == 1 and "2 notifications" in smtp.received()[0].subject
    clock.t += 1
    await svc.handle([note(clock.t, "www1", "website", "RECOVERY", 0, ["alice"])])
    clock.t += 60
    await svc.dispatcher.pass_once()
    assert len(smtp.received()) == 1  # group_interval: not before 120 s after the last
    clock.t += 60
    await svc.dispatcher.pass_once()
    assert len(smtp.received()) == 2


def _with_timing(plan, wait: float, interval: float):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(
        plan, notifications=replace(plan.notifications, group_wait=wait, group_interval=interval)
    )


async def test_host_down_rolls_up_what_is_behind_it(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock)
    events = [note(clock.t, "router", None, "PROBLEM", 1, ["alice"], "PING CRITICAL")]
    for host in ("printer", "phone1", "phone2", "phone3"):
        events.append(note(clock.t, host, None, "PROBLEM", 2, ["alice"], "unreachable"))
    await svc.handle(events)
    await svc.dispatcher.pass_once()
    # the settle window (the router's wlan check's 10 s timeout + 5 s) holds the router's
    # mail for what the re-checks behind it may add
    clock.t += 14.9
    await svc.dispatcher.pass_once()
    assert smtp.received() == []
    clock.t += 0.1
    await svc.dispatcher.pass_once()
    [mail] = smtp.received()  # one message instead of five
    assert mail.subject == "PROBLEM: router is DOWN (+4 unreachable)"
    # the hosts behind it are said to be unreachable, its own service counted
    line = "router is DOWN since 22:13 UTC: printer, 3 phones unreachable; 1 service on it affected"
    assert f"PROBLEM: {line} (notification 1)" in mail.text
    assert line in mail.html
    assert [r.status for r in await rows(store)] == ["sent"] * 5


async def test_check_output_cannot_forge_headers_and_is_escaped(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock)
    evil = "CRITICAL\r\nBcc: victim@example.net\r\nSubject: hi\n<script>alert(1)</script>"
    long = "x" * 50_000
    await svc.handle(
        [
            note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"], evil),
            note(clock.t, "www1", "disk", "PROBLEM", 2, ["alice"], long),
        ]
    )
    await svc.dispatcher.pass_once()
    [mail] = smtp.received()
    assert mail.rcpt_tos == ["alice@example.org"]
    assert mail.message["Bcc"] is None and len(mail.message.get_all("Subject")) == 1
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html
    assert "…[truncated]" in mail.text and len(mail.text) < 10_000


async def test_subject_of_one_notification_is_one_line(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock)
    evil = "CRITICAL\r\nBcc: victim@example.net"
    await svc.handle([note(clock.t, "www1", "web\r\nBcc: x@y.z", "PROBLEM", 2, ["alice"], evil)])
    await svc.dispatcher.pass_once()
    [mail] = smtp.received()
    assert mail.message["Bcc"] is None and "\n" not in mail.subject
    assert mail.rcpt_tos == ["alice@example.org"]


async def test_stalled_server_is_retried(tmp_path, smtp, store, clock):
    plan = make_plan(tmp_path, smtp.port)
    from dataclasses import replace

    smtp_settings = replace(plan.notifications.smtp, timeout=0.5)  # type: ignore[type-var]
    plan = replace(plan, notifications=replace(plan.notifications, smtp=smtp_settings))
    svc = NotificationService(plan, store, clock)
    smtp.mode = "stall"
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
    await svc.dispatcher.pass_once()
    [row] = await rows(store)
    assert (row.status, row.attempts) == ("pending", 1)
    smtp.mode = "ok"
    clock.t += 5
    await svc.dispatcher.pass_once()
    assert len(smtp.received()) == 1


async def test_outbox_survives_a_restart_and_nothing_is_sent_twice(tmp_path, smtp, store, clock):
    first = await service_for(tmp_path, smtp, store, clock)
    await first.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
    await first.handle([note(clock.t, "www1", "disk", "PROBLEM", 2, ["bob"])])
    smtp.refuse()
    await first.dispatcher.pass_once()  # nothing confirmed
    smtp.accept()
    second = await service_for(tmp_path, smtp, store, clock)  # a new process, same store
    clock.t += 10
    await second.dispatcher.pass_once()
    assert sorted(m.rcpt_tos[0] for m in smtp.received()) == [
        "alice@example.org",
        "bob@example.org",
    ]
    third = await service_for(tmp_path, smtp, store, clock)
    clock.t += 10
    await third.dispatcher.pass_once()
    assert len(smtp.received()) == 2  # what was confirmed is not sent again


async def test_service_loop_delivers_on_its_own(tmp_path, smtp, store):
    from augenmass.core.clock import SystemClock

    svc = await service_for(tmp_path, smtp, store, SystemClock())  # type: ignore[arg-type]
    await svc.start()
    try:
        import time

        await asyncio.sleep(0.3)  # the first pass found nothing: the loop waits for a wake-up
        await svc.handle([note(time.time(), "www1", "website", "PROBLEM", 2, ["alice"])])
        for _ in range(100):
            if smtp.received():
                break
            await asyncio.sleep(0.05)
        assert len(smtp.received()) == 1
    finally:
        await svc.stop()


async def test_an_empty_outbox_is_not_polled_every_second(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock)
    # nothing pending: only handle() adds rows, and it wakes the loop
    assert await svc.dispatcher.pass_once() >= 59.0
    smtp.mode = "421"
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
    # a row in backoff: the next pass comes when it is due (1 s), not a minute later
    assert await svc.dispatcher.pass_once() == 1.0


async def test_send_test_reports_per_channel(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock)
    assert await svc.send_test("bob") == "email: sent"
    [mail] = smtp.received()
    assert mail.rcpt_tos == ["bob@example.org"] and "Testnachricht" in mail.subject
    smtp.mode = "550"
    assert (await svc.send_test("alice")).startswith("email: failed (SMTP 550")


async def _as_if_killed_before_the_sent_mark(store: Store) -> None:
    """The store as a kill -9 leaves it when the channel took the message and the process died
    before `mark_sent` committed: the rows pending, with the Message-ID noted before the send."""
    async with store.engine.begin() as conn:
        await conn.execute(sa.update(notify_outbox).values(status="pending", sent_at=None))


async def test_a_resend_of_the_same_rows_keeps_its_message_id(tmp_path, smtp, store, clock):
    svc = await service_for(tmp_path, smtp, store, clock)
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"], "503")])
    await svc.dispatcher.pass_once()
    await _as_if_killed_before_the_sent_mark(store)
    again = await service_for(tmp_path, smtp, store, clock)  # the restarted server
    await again.dispatcher.pass_once()
    first, second = smtp.received()
    # the same content under the same id: a mail system that drops the duplicate is right
    assert first.message["Message-ID"] == second.message["Message-ID"]
    assert (first.subject, first.text) == (second.subject, second.text)
    assert second.message["References"] is None


async def test_a_regrouped_resend_gets_a_new_message_id_in_the_same_thread(
    tmp_path, smtp, store, clock
):
    svc = await service_for(tmp_path, smtp, store, clock)
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"], "503")])
    await svc.dispatcher.pass_once()
    await _as_if_killed_before_the_sent_mark(store)
    again = await service_for(tmp_path, smtp, store, clock)
    # meanwhile another problem joined the group: the resend carries both
    await again.handle([note(clock.t, "www1", "disk", "PROBLEM", 2, ["alice"], "disk 97%")])
    await again.dispatcher.pass_once()
    first, second = smtp.received()
    assert "disk 97%" in second.text and "503" in second.text
    # new content, new id: a dedup by Message-ID must not hide the disk problem
    assert first.message["Message-ID"] != second.message["Message-ID"]
    # ... and the new mail answers the first one, so mail clients keep them together
    assert second.message["In-Reply-To"] == first.message["Message-ID"]
    assert first.message["Message-ID"] in str(second.message["References"])
    assert {r.status for r in await rows(store)} == {"sent"}
    assert {r.message_id for r in await rows(store)} == {second.message["Message-ID"]}


async def test_a_relay_that_is_down_is_said_once_and_its_return_too(
    tmp_path, smtp, store, clock, caplog
):
    svc = await service_for(tmp_path, smtp, store, clock)
    smtp.refuse()
    caplog.set_level("DEBUG", logger="augenmass.notify")
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
    for _ in range(3):  # three failed attempts (of max_attempts 4), each after its backoff
        await svc.dispatcher.pass_once()
        clock.t += 10
    retry = "notification not delivered; will retry"
    failed = [r for r in caplog.records if r.getMessage() == retry]
    assert [r.levelname for r in failed] == ["WARNING", "DEBUG", "DEBUG"]
    smtp.accept()
    await svc.dispatcher.pass_once()
    assert len(smtp.received()) == 1
    back = [r for r in caplog.records if r.getMessage() == "channel delivers again"]
    assert [getattr(r, "failed_attempts", None) for r in back] == [3]
