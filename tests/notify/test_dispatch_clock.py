"""The dispatcher's own loop on a fake clock: a refused message waits out its backoff on the
clock, not on real time, against a real SMTP server and a real SQLite outbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from fakeclock import FakeClock

from augenmass.config import load_config
from augenmass.notify import NotificationService
from augenmass.notify.dispatcher import MIN_GAP
from augenmass.store import Store
from notify.helpers import BASE, MailServer, note, write_config

RETRY = 600.0  # retry_initial below: ten minutes of backoff
STEP = 30.0  # the clock moves in steps; the loop does its real I/O in between
WAIT = 20.0  # the longest real wait for one step (a loaded machine), never reached normally


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.01)


async def parked(clock: FakeClock) -> None:
    """Until the dispatcher sleeps on the clock: from then on nothing moves until it advances."""
    await until(lambda: clock.next_deadline() is not None, "the dispatcher to sleep on the clock")


async def test_a_refused_message_is_retried_when_the_clock_says_so(
    tmp_path: Path, smtp: MailServer, store: Store
) -> None:
    base = BASE.replace("retry_initial: 1s", "retry_initial: 10m").replace(
        "retry_max: 8s", "retry_max: 1h"
    )
    plan = load_config(write_config(tmp_path, smtp.port, base=base))
    clock = FakeClock()
    svc = NotificationService(plan, store, clock)
    smtp.mode = "421"
    real_start = time.monotonic()
    await svc.start()
    try:
        await parked(clock)  # nothing pending: the long idle sleep
        await svc.handle([note(clock.now(), "www1", "website", "PROBLEM", 2, ["alice"])])
        gap = clock.monotonic() + MIN_GAP  # a wake-up is followed by this gap on the clock
        await until(lambda: clock.next_deadline() == gap, "the wake-up")
        await clock.advance(MIN_GAP)
        await until(lambda: smtp.attempts == 1, "the first attempt")
        await parked(clock)  # the failure is written before the loop sleeps again
        failed_at = clock.now()
        [row] = await svc.outbox.pending()
        assert row.attempts == 1 and row.due == failed_at + RETRY

        smtp.mode = "ok"  # a retry that came too early would be delivered at once
        while not smtp.received():
            if clock.now() < failed_at + RETRY:
                assert smtp.attempts == 1, f"retried {clock.now() - failed_at:g} s after"
            assert clock.now() < failed_at + RETRY + 2 * STEP, "no retry once it was due"
            await clock.advance(STEP)
            await parked(clock)
        assert smtp.attempts == 2 and clock.now() >= failed_at + RETRY
        assert await svc.outbox.pending() == []
    finally:
        await svc.stop()
    assert time.monotonic() - real_start < RETRY / 10  # nobody waited the backoff for real
