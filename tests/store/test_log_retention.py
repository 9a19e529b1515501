"""Retention of the notification log, finished outbox rows and the audit log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from augenmass.config import load_config
from augenmass.core.plan import Retention
from augenmass.store import Store
from augenmass.store.auth_schema import audit_log
from augenmass.store.notify_schema import notify_log, notify_outbox

DAY = 86400.0
NOW = 1_800_000_000.0


def _outbox(created: float, status: str) -> dict[str, object]:
    return {
        "created": created, "due": created, "status": status, "contact": "ops",
        "channel": "email", "type": "PROBLEM", "host": "web1", "service": "http", "state": 2,
        "number": 1, "at": created, "output": "down", "data": "{}", "attempts": 1,
        "last_error": "", "sent_at": None, "message_id": "",
    }  # fmt: skip


def _log(at: float) -> dict[str, object]:
    return {
        "at": at, "contact": "ops", "channel": "email", "type": "PROBLEM", "checks": "web1/http",
        "notifications": 1, "result": "sent", "detail": "",
    }  # fmt: skip


def _audit(at: float) -> dict[str, object]:
    return {"at": at, "user_name": "admin", "action": "acknowledge", "target": "web1/http",
            "detail": ""}  # fmt: skip


async def _ages(store: Store, table: sa.Table, col: str) -> list[float]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.select(table.c[col]).order_by(table.c[col]))
        return [float(r[0]) for r in rows]


async def test_rows_older_than_the_setting_go_newer_ones_stay(store: Store) -> None:
    ages = [500, 401, 399.9, 30, 0.5]  # days before NOW
    async with store.engine.begin() as conn:
        await conn.execute(sa.insert(notify_log), [_log(NOW - d * DAY) for d in ages])
        await conn.execute(sa.insert(audit_log), [_audit(NOW - d * DAY) for d in ages])
        await conn.execute(
            sa.insert(notify_outbox),
            [_outbox(NOW - d * DAY, "sent") for d in ages]
            + [_outbox(NOW - 600 * DAY, "failed"), _outbox(NOW - 900 * DAY, "pending")],
        )
    # the documented defaults: 400 days each
    rep = await store.prune_logs(NOW, Retention())
    assert (rep.notification_log, rep.audit_log, rep.outbox) == (2, 2, 3)
    kept = [NOW - d * DAY for d in ages[2:]]
    assert await _ages(store, notify_log, "at") == kept
    assert await _ages(store, audit_log, "at") == kept
    # a notification still owed to someone is never pruned, however old
    assert await _ages(store, notify_outbox, "created") == [NOW - 900 * DAY, *kept]
    again = await store.prune_logs(NOW, Retention())
    assert (again.notification_log, again.audit_log, again.outbox) == (0, 0, 0)

    # each table has its own setting
    short = Retention(notification_log=10 * DAY, audit_log=100 * DAY)
    await store.prune_logs(NOW, short)
    assert await _ages(store, notify_log, "at") == [NOW - 0.5 * DAY]
    assert await _ages(store, audit_log, "at") == [NOW - 30 * DAY, NOW - 0.5 * DAY]


async def test_a_backlog_is_pruned_in_bounded_batches_oldest_first(store: Store) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.insert(audit_log), [_audit(NOW - (1000 - i) * DAY) for i in range(25)]
        )
    ret = Retention(audit_log=980 * DAY)  # 20 rows are too old
    counts = []
    while (n := (await store.prune_logs(NOW, ret, limit=8)).audit_log) > 0:
        counts.append(n)
    assert counts == [8, 8, 4]
    assert await _ages(store, audit_log, "at") == [NOW - d * DAY for d in (980, 979, 978, 977, 976)]


def test_the_settings_take_notification_log_and_audit_log(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "settings:\n  retention: {notification_log: 90d, audit_log: 1095d}\n"
        "hosts:\n  h: {address: 127.0.0.1}\n"
    )
    ret = load_config(cfg).settings.retention
    assert ret.notification_log == 90 * DAY
    assert ret.audit_log == 3 * 365 * DAY
    assert ret.history == Retention().history  # unchanged default
    assert Retention().notification_log == Retention().audit_log == 400 * DAY


async def test_the_servers_housekeeping_applies_the_configured_retention(tmp_path: Path) -> None:
    from fakeclock import FakeClock

    from augenmass.server.server import HOUSEKEEPING_SECONDS, Server

    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(
        "settings:\n  probe_workers: 0\n  retention: {notification_log: 10d, audit_log: 20d}\n"
        "hosts:\n  h: {address: 127.0.0.1}\n"
    )
    clock = FakeClock(start_wall=NOW)
    server = Server(cfg, tmp_path / "data", clock=clock)
    await server.start()
    try:
        ages = [30, 15, 5]  # days before NOW
        async with server.store.engine.begin() as conn:
            await conn.execute(sa.insert(notify_log), [_log(NOW - d * DAY) for d in ages])
            await conn.execute(sa.insert(audit_log), [_audit(NOW - d * DAY) for d in ages])
        await clock.advance(HOUSEKEEPING_SECONDS)  # the periodic pass falls due
        for _ in range(200):  # the pass does real database work: wait for it, bounded
            if len(await _ages(server.store, notify_log, "at")) == 1:
                break
            await asyncio.sleep(0.05)
        assert await _ages(server.store, notify_log, "at") == [NOW - 5 * DAY]
        assert await _ages(server.store, audit_log, "at") == [NOW - 15 * DAY, NOW - 5 * DAY]
    finally:
        await server.stop()
