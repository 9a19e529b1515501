"""Outbox rows before they have an id, and how they are inserted (by the outbox itself, or by
the store in the transaction of the state change that raised them)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from augenmass.store.codec import clean_text
from augenmass.store.notify_schema import notify_outbox

PENDING = "pending"
SLICE = 250  # rows converted between two yields to the event loop (a storm is 20,000 rows)
INSERT_CHUNK = 1000  # rows per executemany: the loop gets a turn between two chunks


@dataclass(frozen=True, slots=True)
class NewItem:
    """An outbox row before it has an id."""

    contact: str
    channel: str
    type: str
    host: str
    service: str
    state: int
    number: int
    at: float
    output: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Queued:
    """Outbox rows raised by one state change: written in the same transaction as the change
    (WriteBatch.notifications), so a crash can never keep the one and lose the other."""

    items: tuple[NewItem, ...]
    created: float
    due: float  # created + group_wait


async def build_rows(queued: Iterable[Queued]) -> list[dict[str, Any]]:
    """The column values of the outbox rows (yields to the loop while a storm is encoded)."""
    rows: list[dict[str, Any]] = []
    n = 0
    for q in queued:
        # one event gives a row per contact with the same output and data: encode them once
        texts: dict[int, tuple[str, str, str]] = {}
        for it in q.items:
            known = texts.get(id(it.data))
            if known is None or known[0] is not it.output:
                known = texts[id(it.data)] = (it.output, *_encoded(it))
            rows.append(_row(it, q.created, q.due, known[1], known[2]))
            n += 1
            if n % SLICE == 0:
                await asyncio.sleep(0)  # building 20,000 rows must not hold the loop
    return rows


async def insert_rows(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Insert built rows on `conn`, inside the caller's transaction."""
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        if conn.dialect.name == "sqlite":
            # straight to the driver's executemany: SQLAlchemy's per-row parameter
            # processing was most of the loop time of a storm's 20,000 rows
            await conn.exec_driver_sql(_SQLITE_INSERT, [tuple(r.values()) for r in chunk])
        else:
            await conn.execute(sa.insert(notify_outbox), chunk)


def _encoded(it: NewItem) -> tuple[str, str]:
    return clean_text(it.output, 65536), json.dumps(it.data, ensure_ascii=True, default=str)


def _row(it: NewItem, now: float, due: float, output: str, data: str) -> dict[str, Any]:
    """The column values, in the order of _COLUMNS."""
    return {
        "created": now,
        "due": due,
        "status": PENDING,
        "contact": it.contact,
        "channel": it.channel,
        "type": it.type,
        "host": it.host,
        "service": it.service,
        "state": it.state,
        "number": it.number,
        "at": it.at,
        "output": output,
        "data": data,
        "attempts": 0,
        "last_error": "",
        "sent_at": None,
        "message_id": "",
    }


# Every column but the database's own id, in the table's order (the order of _row).
_COLUMNS = tuple(c.name for c in notify_outbox.c if c.autoincrement is not True)
_SQLITE_INSERT = (
    f"INSERT INTO notify_outbox ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)
