"""The store's disk is full while a mail goes out: the mail is not sent again and again.

The outbox lives on a small tmpfs the test mounts and fills (as root; skipped with the reason
elsewhere, never under CI=true). The channel takes the message, the "sent" mark cannot be
written: the dispatcher holds the row in memory instead of re-sending it at every pass, and
writes the mark once the disk has room again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from smalldisk import fill
from smalldisk import small_disk as mounted

from augenmass.notify import NotificationService
from augenmass.store import Store, open_store
from augenmass.store.notify_schema import notify_log, notify_outbox
from notify.helpers import MailServer, ManualClock, make_plan, note


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted(tmp_path / "disk", "4m") as mount:
        yield mount


@pytest.fixture
async def full_store(small_disk: Path) -> AsyncIterator[Store]:
    st = await open_store(f"sqlite:///{small_disk / 'augenmass.db'}")
    try:
        yield st
    finally:
        await st.close()


async def statuses(store: Store) -> list[str]:
    async with store.engine.connect() as conn:
        return [r.status for r in await conn.execute(sa.select(notify_outbox))]


async def test_a_mail_whose_sent_mark_cannot_be_written_is_not_sent_again(
    tmp_path: Path, small_disk: Path, full_store: Store, smtp: MailServer, clock: ManualClock
) -> None:
    svc = NotificationService(make_plan(tmp_path, smtp.port), full_store, clock)
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"], "503")])
    fill(small_disk / "filler")
    await svc.dispatcher.pass_once()
    assert len(smtp.received()) == 1  # the channel took it ...
    assert await statuses(full_store) == ["pending"]  # ... the mark could not be written
    for _ in range(5):  # passes while the disk stays full, minutes apart
        clock.t += 120
        await svc.dispatcher.pass_once()
    assert len(smtp.received()) == 1, "re-sent because its mark could not be written"
    (small_disk / "filler").unlink()
    clock.t += 1
    await svc.dispatcher.pass_once()
    assert await statuses(full_store) == ["sent"]
    async with full_store.engine.connect() as conn:
        [entry] = list(await conn.execute(sa.select(notify_log)))
    assert entry.result == "sent"
    clock.t += 120
    await svc.dispatcher.pass_once()
    assert len(smtp.received()) == 1


async def test_a_failed_send_whose_mark_cannot_be_written_waits_its_backoff(
    tmp_path: Path, small_disk: Path, full_store: Store, smtp: MailServer, clock: ManualClock
) -> None:
    svc = NotificationService(make_plan(tmp_path, smtp.port), full_store, clock)
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"], "503")])
    fill(small_disk / "filler")
    smtp.mode = "421"
    await svc.dispatcher.pass_once()
    assert smtp.attempts == 1
    await svc.dispatcher.pass_once()  # at once again: still in its backoff (1 s)
    await svc.dispatcher.pass_once()
    assert smtp.attempts == 1
    clock.t += 1.0
    smtp.mode = "ok"
    await svc.dispatcher.pass_once()
    assert smtp.attempts == 2 and len(smtp.received()) == 1
