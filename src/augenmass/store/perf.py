"""Performance data: series, raw points, 5-minute and hourly roll-ups, retention.

Roll-ups are recomputed from their source for a window behind a watermark, so running the step
twice gives the same rows (idempotent), and each call covers at most `max_span` seconds of data
per table (bounded work). Raw points are only pruned once they are rolled up.

Any stored timestamp is survivable: the watermarks never start or stay behind what retention
still keeps, and they jump over stretches without data, so one point stamped 1970 cannot make
the roll-ups walk through fifty years six hours at a time (and hold back pruning meanwhile);
a point far in the future simply waits, it never moves a watermark past now.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from augenmass.core.plan import Retention
from augenmass.core.values import CheckResult, shared_tuple
from augenmass.store import schema as t
from augenmass.store.aio import AsyncConnection
from augenmass.store.bulk import Bulk, execute_bulk, execute_tuples
from augenmass.store.codec import clean_label, clean_text, key_cols

SeriesKey = tuple[str, str, str]  # host, service ('' for a host), label
Point = tuple[float, float, float, float]  # ts (bucket start), avg, min, max

LATE = 60.0  # a 5-minute bucket is closed this long after its end
RELOOK = 900.0  # late points up to this age still reach the 5-minute roll-up
MAX_SPAN = 6 * 3600.0  # seconds of data per table per call
RAW_MAX_SPAN = 6 * 3600.0  # auto resolution: raw up to this range
FIVE_MAX_SPAN = 8 * 86400.0  # auto resolution: 5-minute buckets up to this range


def insert_for(dialect: str) -> Any:
    # imported here: a server on SQLite never loads PostgreSQL's dialect (1.8 MB), nor the
    # other way round
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert


PointRow = tuple[SeriesKey, str, float, float]  # series key, uom, ts, value
CheckCols = tuple[str, str]  # host, service ('' for a host)
IN_SIZES = (8, 32, 128, 300)  # the lengths of the IN lists that look up new series' ids
SERIES_SCAN = 2000  # series looked at per call for being stale (bounded work)


def point_rows(results: Iterable[CheckResult]) -> tuple[list[PointRow], set[SeriesKey]]:
    """(series key, uom, ts, value) for every finite perfdata value, and the keys seen."""
    rows: list[PointRow] = []
    keys: set[SeriesKey] = set()
    for res in results:
        if not res.perfdata or not math.isfinite(res.started_at):
            continue
        host, service = key_cols(res.key)
        for pd in res.perfdata:
            if pd.value is None or not math.isfinite(pd.value):
                continue  # 'U' (unknown) or NaN: nothing to graph
            sk = (host, service, clean_label(pd.label))
            rows.append((sk, pd.uom, res.started_at, pd.value))
            keys.add(sk)
    return rows, keys


@dataclass(frozen=True, slots=True)
class Capped:
    """What `cap_series` let through, and what it dropped per check."""

    rows: list[PointRow]
    missing: set[SeriesKey]  # new series to create
    dropped_labels: dict[CheckCols, int]  # new labels refused, per check
    dropped_points: int


def cap_series(
    rows: list[PointRow], missing: set[SeriesKey], count: Callable[[CheckCols], int], cap: int
) -> Capped:
    """Allow each check at most `cap` series: new labels beyond it lose their values.

    `count` tells the series a check has now. The labels that came first (in result and
    perfdata order) win, so the same plugin output keeps the same series."""
    room: dict[CheckCols, int] = {}
    allowed: set[SeriesKey] = set()
    refused: set[SeriesKey] = set()
    for sk, _, _, _ in rows:
        if sk not in missing or sk in allowed or sk in refused:
            continue
        check = (sk[0], sk[1])
        left = room.get(check, cap - count(check))
        if left > 0:
            allowed.add(sk)
        else:
            refused.add(sk)
        room[check] = left - 1
    if not refused:
        return Capped(rows, missing, {}, 0)
    kept = [r for r in rows if r[0] not in refused]
    labels: dict[CheckCols, int] = {}
    for h, s, _ in refused:
        labels[(h, s)] = labels.get((h, s), 0) + 1
    return Capped(kept, allowed, labels, len(rows) - len(kept))


_NO_SERIES: tuple[tuple[str, ...], array[int]] = ((), array("q"))


class SeriesIds:
    """The id of every series, by check and then label: what the write path looks up instead
    of a SELECT per point. Per check its labels (one tuple shared by all checks with the same
    ones) and their ids side by side in an array: at 5,000 checks a (host, service, label) key
    per series and a count per check took 2.5 MB, a dict of labels per check still 1.5 MB."""

    __slots__ = ("_checks", "_len")

    def __init__(self) -> None:
        self._checks: dict[CheckCols, tuple[tuple[str, ...], array[int]]] = {}
        self._len = 0

    def get(self, key: SeriesKey) -> int | None:
        labels, ids = self._checks.get((key[0], key[1]), _NO_SERIES)
        if key[2] in labels:
            return ids[labels.index(key[2])]
        return None

    def __contains__(self, key: SeriesKey) -> bool:
        return key[2] in self._checks.get((key[0], key[1]), _NO_SERIES)[0]

    def __len__(self) -> int:
        return self._len

    def count(self, check: CheckCols) -> int:
        """The series `check` has."""
        return len(self._checks.get(check, _NO_SERIES)[0])

    def missing(self, keys: Iterable[SeriesKey]) -> set[SeriesKey]:
        return {k for k in keys if k not in self}

    def add(self, key: SeriesKey, sid: int, check: CheckCols | None = None) -> None:
        """`check`: the (host, service) tuple to keep as the key, if the caller has one that
        lives anyway (the store's sequence numbers are kept under it too)."""
        cols = (key[0], key[1])
        labels, ids = self._checks.get(cols, _NO_SERIES)
        if key[2] in labels:
            ids[labels.index(key[2])] = sid
            return
        if not labels:
            ids = array("q")
            cols = cols if check is None else check
        ids.append(sid)
        self._checks[cols] = (shared_tuple((*labels, key[2])), ids)
        self._len += 1

    def discard(self, key: SeriesKey) -> None:
        cols = (key[0], key[1])
        labels, ids = self._checks.get(cols, _NO_SERIES)
        if key[2] not in labels:
            return
        at = labels.index(key[2])
        self._len -= 1
        if len(labels) == 1:
            del self._checks[cols]
            return
        del ids[at]
        self._checks[cols] = (shared_tuple(labels[:at] + labels[at + 1 :]), ids)


async def load_series(
    conn: AsyncConnection, checks: Mapping[CheckCols, CheckCols] | None = None
) -> SeriesIds:
    """Every series' id. `checks`: the (host, service) tuples the caller keeps anyway, found by
    an equal one (so a check's series share its key, not a copy each)."""
    rows = await conn.execute(
        sa.select(t.series.c.id, t.series.c.host, t.series.c.service, t.series.c.label)
    )
    ids = SeriesIds()
    checks = checks or {}
    for r in rows:
        key = _series_key(r.host, r.service, r.label)
        ids.add(key, r.id, checks.get((key[0], key[1])))
    return ids


def _series_key(host: str, service: str, label: str) -> SeriesKey:
    """Strings read back from the database are new objects each: interned, a cached series key
    shares them with the plan's names (which are interned too) and with the other series."""
    return (sys.intern(host), sys.intern(service), sys.intern(label))


async def ensure_series(
    conn: AsyncConnection,
    dialect: str,
    rows: Sequence[PointRow],
    missing: set[SeriesKey],
) -> dict[SeriesKey, int]:
    """Create the series in `missing`; returns their ids (the caller caches them after commit)."""
    uoms: dict[SeriesKey, str] = {}
    for sk, uom, _, _ in rows:
        if sk in missing:
            uoms.setdefault(sk, clean_text(uom, 32))
    params = [
        {"host": h, "service": s, "label": lbl, "uom": uoms[(h, s, lbl)]} for h, s, lbl in missing
    ]
    await conn.execute(insert_for(dialect)(t.series).on_conflict_do_nothing(), params)
    found: dict[SeriesKey, int] = {}
    wanted = list(missing)
    most = IN_SIZES[-1]  # keeps the IN list within bind-parameter limits
    for i in range(0, len(wanted), most):
        chunk = wanted[i : i + most]
        # Padded to one of a few lengths (the last key repeated): every length is a statement
        # of its own, and the driver keeps each one prepared; a 300-tuple IN is a big program.
        size = next(n for n in IN_SIZES if n >= len(chunk))
        chunk += [chunk[-1]] * (size - len(chunk))
        q = sa.select(t.series.c.id, t.series.c.host, t.series.c.service, t.series.c.label).where(
            sa.tuple_(t.series.c.host, t.series.c.service, t.series.c.label).in_(chunk)
        )
        for r in await conn.execute(q):
            found[_series_key(r.host, r.service, r.label)] = r.id
    return found


async def insert_points(
    conn: AsyncConnection,
    bulk: Bulk,
    rows: Sequence[PointRow],
    id_of: Callable[[SeriesKey], int],
) -> None:
    """`bulk`: INSERT INTO point … ON CONFLICT DO NOTHING (a point is written once)."""
    if bulk.order == ("series_id", "ts", "value"):  # positional: tuples as they are
        await execute_tuples(conn, bulk, [(id_of(sk), ts, v) for sk, _, ts, v in rows])
        return
    params = [{"series_id": id_of(sk), "ts": ts, "value": v} for sk, _, ts, v in rows]
    await execute_bulk(conn, bulk, params)


# --- roll-ups ---------------------------------------------------------------------------------

FIVE_MARK = "rollup_5m_upto"
HOUR_MARK = "rollup_1h_upto"
# Late points (a passive result sent long after it ran) landed below the 5-minute watermark
# from here on; their buckets are recomputed, and then the hours above them.
FIVE_REDO = "rollup_5m_redo_from"
HOUR_REDO = "rollup_1h_redo_from"


@dataclass(frozen=True, slots=True)
class RollupReport:
    five_minute_upto: float | None
    hourly_upto: float | None
    pruned_raw: int
    pruned_five_minute: int
    pruned_hourly: int
    pruned_events: int
    pruned_series: int = 0


def _floor(ts: float, step: float) -> float:
    return float(math.floor(ts / step) * step)


def _bucket_of(ts_col: Any, step: int, dialect: str) -> Any:
    if dialect == "postgresql":
        return sa.cast(sa.func.floor(ts_col / step), sa.BigInteger) * step
    # SQLite: CAST truncates, right for ts > 0; roll-ups never read before what retention keeps
    return sa.cast(ts_col / step, sa.Integer) * step


async def get_mark(conn: AsyncConnection, name: str) -> float | None:
    v = await conn.scalar(sa.select(t.meta.c.value).where(t.meta.c.name == name))
    return None if v is None else float(v)


async def _set_mark(conn: AsyncConnection, dialect: str, name: str, value: float) -> None:
    ins = insert_for(dialect)(t.meta).values(name=name, value=value)
    await conn.execute(ins.on_conflict_do_update(index_elements=["name"], set_={"value": value}))


async def _clear_mark(conn: AsyncConnection, name: str) -> None:
    await conn.execute(sa.delete(t.meta).where(t.meta.c.name == name))


async def lower_mark(conn: AsyncConnection, dialect: str, name: str, value: float) -> None:
    """Set the mark to `value` unless it is lower already."""
    ins = insert_for(dialect)(t.meta).values(name=name, value=value)
    lowest = sa.func.least if dialect == "postgresql" else sa.func.min  # SQLite: min(a, b)
    lower = lowest(t.meta.c.value, ins.excluded.value)
    await conn.execute(ins.on_conflict_do_update(index_elements=["name"], set_={"value": lower}))


async def _walk_from(
    conn: AsyncConnection, col: sa.Column[Any], mark: float, floor: float, step: float
) -> float | None:
    """Where the walk over `col` goes on from watermark `mark`: not below `floor` (older data
    is past its retention) and over any stretch without data up to the next row. None when no
    row lies at or after it."""
    mark = max(mark, floor)
    nxt = await conn.scalar(sa.select(sa.func.min(col)).where(col >= mark))
    return None if nxt is None else max(mark, _floor(float(nxt), step))


async def _upsert_select(conn: AsyncConnection, dialect: str, table: sa.Table, sel: Any) -> None:
    cols = ["series_id", "bucket", "avg", "min", "max", "count"]
    ins = insert_for(dialect)(table).from_select(cols, sel)
    ex = ins.excluded
    await conn.execute(
        ins.on_conflict_do_update(
            index_elements=["series_id", "bucket"],
            set_={c: ex[c] for c in ("avg", "min", "max", "count")},
        )
    )


async def _five_from_raw(conn: AsyncConnection, dialect: str, lo: float, hi: float) -> None:
    p = t.point.c
    bucket = _bucket_of(p.ts, 300, dialect)
    sel = (
        sa.select(
            p.series_id,
            bucket,
            sa.func.avg(p.value),
            sa.func.min(p.value),
            sa.func.max(p.value),
            sa.func.count(),
        )
        .where(p.ts >= lo, p.ts < hi)
        .group_by(p.series_id, bucket)
    )
    await _upsert_select(conn, dialect, t.rollup_5m, sel)


async def _hour_from_five(conn: AsyncConnection, dialect: str, lo: float, hi: float) -> None:
    f = t.rollup_5m.c
    hour = f.bucket - (f.bucket % 3600)
    total = sa.func.sum(f.count)
    sel = (
        sa.select(
            f.series_id,
            hour,
            sa.func.sum(f.avg * f.count) / total,
            sa.func.min(f.min),
            sa.func.max(f.max),
            total,
        )
        .where(f.bucket >= lo, f.bucket < hi)
        .group_by(f.series_id, hour)
    )
    await _upsert_select(conn, dialect, t.rollup_1h, sel)


async def _redo(
    conn: AsyncConnection,
    name: str,
    lowest: float,
    end: float,
    step: float,
    span: float,
) -> tuple[float, float] | None:
    """The next window [lo, hi) of the redo mark `name`, advanced past it (or cleared when the
    regular window, which starts at `end`, covers the rest). `lowest` is the first bucket whose
    source is still complete."""
    redo = await get_mark(conn, name)
    if redo is None:
        return None
    lo = max(_floor(redo, step), lowest)
    hi = min(end, max(lo + step, _floor(lo + span, step)))
    if hi >= end:
        await _clear_mark(conn, name)
    else:
        await conn.execute(sa.update(t.meta).where(t.meta.c.name == name).values(value=hi))
    return (lo, hi) if hi > lo else None


async def rollup_five(
    conn: AsyncConnection, dialect: str, now: float, span: float, keep: float
) -> float | None:
    """Roll raw points up into 5-minute buckets; `keep` is the raw retention."""
    mark = await get_mark(conn, FIVE_MARK)
    p = t.point.c
    if mark is None:
        first = await conn.scalar(sa.select(sa.func.min(p.ts)))
        if first is None:
            return None
        mark = _floor(float(first), 300)
    mark = max(mark, _floor(now - keep, 300))
    target = _floor(now - LATE, 300)
    start = await _walk_from(conn, p.ts, mark, mark, 300)
    # Nothing at or after the mark: nothing to walk through, straight on to the target.
    hi = target if start is None else min(target, start + span)
    if hi > mark:
        # data between mark and start: none, so the window holds RELOOK + span seconds at most
        await _five_from_raw(conn, dialect, mark - RELOOK, hi)
        await _set_mark(conn, dialect, FIVE_MARK, hi)
        mark = hi
    # Raw points of buckets from here on are complete (pruning never went past now - keep).
    lowest = _floor(now - keep, 300) + 300
    window = await _redo(conn, FIVE_REDO, lowest, mark - RELOOK, 300, span)
    if window is not None:
        await _five_from_raw(conn, dialect, *window)
        await lower_mark(conn, dialect, HOUR_REDO, window[0])
    return mark


async def rollup_hour(
    conn: AsyncConnection,
    dialect: str,
    five_upto: float | None,
    span: float,
    now: float,
    keep: float,
) -> float | None:
    """Roll 5-minute buckets up into hours; `keep` is the 5-minute retention."""
    if five_upto is None:
        return None
    mark = await get_mark(conn, HOUR_MARK)
    f = t.rollup_5m.c
    if mark is None:
        first = await conn.scalar(sa.select(sa.func.min(f.bucket)))
        if first is None:
            return None
        mark = _floor(float(first), 3600)
    mark = max(mark, _floor(now - keep, 3600))
    target = _floor(five_upto, 3600)
    start = await _walk_from(conn, f.bucket, mark, mark, 3600)
    hi = target if start is None else min(target, start + max(span, 3600.0))
    if hi > mark:
        await _hour_from_five(conn, dialect, mark - 3600, hi)
        await _set_mark(conn, dialect, HOUR_MARK, hi)
        mark = hi
    lowest = _floor(now - keep, 3600) + 3600
    window = await _redo(conn, HOUR_REDO, lowest, mark - 3600, 3600, max(span, 3600.0))
    if window is not None:
        await _hour_from_five(conn, dialect, *window)
    return mark


async def prune(conn: AsyncConnection, col: sa.Column[Any], cutoff: float, span: float) -> int:
    """Delete rows with col < cutoff, at most `span` seconds' worth of them (from the oldest
    row on, so a lone ancient row costs one call, not a walk)."""
    oldest = await conn.scalar(sa.select(sa.func.min(col)))
    if oldest is None or float(oldest) >= cutoff:
        return 0
    limit = min(cutoff, float(oldest) + span)
    res = await conn.execute(sa.delete(col.table).where(col < limit))
    return int(res.rowcount or 0)


async def prune_series(
    conn: AsyncConnection, cutoff: float, after: int = 0, limit: int = SERIES_SCAN
) -> tuple[list[SeriesKey], int]:
    """Delete the series without a point or bucket at or after `cutoff`, among the `limit`
    series after id `after`; their older rows go with them. Returns the keys deleted and where
    the next call goes on (0: from the start again)."""
    s = t.series.c
    ids = list(await conn.scalars(sa.select(s.id).where(s.id > after).order_by(s.id).limit(limit)))
    if not ids:
        return [], 0

    def newer(table: sa.Table, col: sa.Column[Any]) -> Any:
        return sa.exists().where(table.c.series_id == s.id, col >= cutoff)

    q = sa.select(s.id, s.host, s.service, s.label).where(
        s.id > after,
        s.id <= ids[-1],
        ~newer(t.point, t.point.c.ts),
        ~newer(t.rollup_5m, t.rollup_5m.c.bucket),
        ~newer(t.rollup_1h, t.rollup_1h.c.bucket),
    )
    stale = list(await conn.execute(q))
    for i in range(0, len(stale), 300):  # keep the IN list within bind-parameter limits
        chunk = [r.id for r in stale[i : i + 300]]
        for table in (t.point, t.rollup_5m, t.rollup_1h):
            await conn.execute(sa.delete(table).where(table.c.series_id.in_(chunk)))
        await conn.execute(sa.delete(t.series).where(s.id.in_(chunk)))
    return [(r.host, r.service, r.label) for r in stale], (ids[-1] if len(ids) == limit else 0)


def longest_keep(retention: Retention) -> float:
    """How long a series may go without data before it is deleted."""
    return max(retention.raw, retention.five_minute, retention.hourly)


async def rollup_and_prune(
    conn: AsyncConnection, dialect: str, now: float, retention: Retention, span: float = MAX_SPAN
) -> RollupReport:
    five = await rollup_five(conn, dialect, now, span, retention.raw)
    hour = await rollup_hour(conn, dialect, five, span, now, retention.five_minute)
    # Never prune what the next roll-up still reads.
    raw_cut = now - retention.raw
    raw_cut = min(raw_cut, five - RELOOK) if five is not None else raw_cut
    five_cut = now - retention.five_minute
    five_cut = min(five_cut, hour - 3600) if hour is not None else five_cut
    return RollupReport(
        five_minute_upto=five,
        hourly_upto=hour,
        pruned_raw=await prune(conn, t.point.c.ts, raw_cut, span),
        pruned_five_minute=await prune(conn, t.rollup_5m.c.bucket, five_cut, span),
        pruned_hourly=await prune(conn, t.rollup_1h.c.bucket, now - retention.hourly, span),
        pruned_events=await prune(conn, t.event.c.at, now - retention.history, span),
    )


# --- queries ----------------------------------------------------------------------------------


def choose_resolution(since: float, until: float, now: float, retention: Retention) -> str:
    """The finest resolution that is still kept for `since` and gives a sensible point count."""
    span = until - since
    if span <= RAW_MAX_SPAN and since >= now - retention.raw:
        return "raw"
    if span <= FIVE_MAX_SPAN and since >= now - retention.five_minute:
        return "5m"
    return "1h"


def merge_buckets(rows: Iterable[tuple[float, float, float, float, int]], step: int) -> list[Point]:
    """Combine (ts, avg, min, max, count) rows into buckets of `step` seconds (count-weighted)."""
    acc: dict[float, list[float]] = {}
    for ts, avg, lo, hi, n in rows:
        b = _floor(ts, step)
        cur = acc.get(b)
        if cur is None:
            acc[b] = [avg * n, lo, hi, n]
        else:
            cur[0] += avg * n
            cur[1] = min(cur[1], lo)
            cur[2] = max(cur[2], hi)
            cur[3] += n
    return [(b, s / n, lo, hi) for b, (s, lo, hi, n) in sorted(acc.items()) if n]


async def raw_rows(
    conn: AsyncConnection, sid: int, since: float, until: float
) -> list[tuple[float, float, float, float, int]]:
    p = t.point.c
    q = sa.select(p.ts, p.value).where(p.series_id == sid, p.ts >= since, p.ts < until)
    return [(r.ts, r.value, r.value, r.value, 1) for r in await conn.execute(q.order_by(p.ts))]


async def rollup_rows(
    conn: AsyncConnection, table: sa.Table, sid: int, since: float, until: float
) -> list[tuple[float, float, float, float, int]]:
    c = table.c
    q = sa.select(c.bucket, c.avg, c.min, c.max, c.count).where(
        c.series_id == sid, c.bucket >= since, c.bucket < until
    )
    rows = await conn.execute(q.order_by(c.bucket))
    # by position: Row.count is the tuple method, not the column
    return [(float(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]


async def series_points(
    conn: AsyncConnection, sid: int, since: float, until: float, resolution: str
) -> list[Point]:
    """Points of one series; buckets newer than the roll-up watermarks come live from below."""
    if resolution == "raw":
        return [(ts, a, lo, hi) for ts, a, lo, hi, _ in await raw_rows(conn, sid, since, until)]
    five_mark = await get_mark(conn, FIVE_MARK)
    five_mark = since if five_mark is None else max(since, min(five_mark, until))
    if resolution == "5m":
        start = _floor(since, 300)
        rows = await rollup_rows(conn, t.rollup_5m, sid, start, five_mark)
        rows += await raw_rows(conn, sid, five_mark, until)
        return merge_buckets(rows, 300)
    if resolution != "1h":
        raise ValueError(f"unknown resolution {resolution!r} (auto, raw, 5m or 1h)")
    hour_mark = await get_mark(conn, HOUR_MARK)
    hour_mark = since if hour_mark is None else max(since, min(hour_mark, until))
    hour_mark = min(hour_mark, five_mark)
    rows = await rollup_rows(conn, t.rollup_1h, sid, _floor(since, 3600), hour_mark)
    rows += await rollup_rows(conn, t.rollup_5m, sid, hour_mark, five_mark)
    rows += await raw_rows(conn, sid, five_mark, until)
    return merge_buckets(rows, 3600)
