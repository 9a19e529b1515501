"""The store: current states, downtimes, history, last results and perfdata, in one database.

SQLite (one file, WAL) is the default; PostgreSQL works the same through asyncpg. Every write is
one transaction (WriteBatch). Writes are serialised by a lock so roll-ups and the writer task
never compete for SQLite's single write lock inside one process.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from augenmass.core.clock import Clock, SystemClock
from augenmass.core.datadir import check_store_paths
from augenmass.core.errors import StoreError
from augenmass.core.plan import Retention
from augenmass.core.private import protect_sqlite
from augenmass.core.values import (
    Acknowledgement,
    CheckKey,
    CheckResult,
    CheckState,
    Downtime,
    Event,
)
from augenmass.store import codec, database, logprune, outboxrows, perf, recovery, sidecar
from augenmass.store import schema as t
from augenmass.store.aio import AsyncConnection, AsyncEngine
from augenmass.store.batch import Snapshot, WriteBatch
from augenmass.store.bulk import Bulk, compile_bulk, execute_bulk
from augenmass.store.lease import Fence
from augenmass.store.sentmark import SentMarks

log = logging.getLogger("augenmass.store")

LOAD_SLICE = 500  # states decoded between two turns of the loop
ROW_SLICE = 250  # results (and states) whose rows are built between two turns of the loop


@dataclass(slots=True)
class _Rows:
    """A batch's rows as `Store._rows` built them."""

    states: list[dict[str, Any]] = field(default_factory=list)
    results: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    seq: dict[tuple[str, str], int] = field(default_factory=dict)
    points: list[perf.PointRow] = field(default_factory=list)
    keys: set[perf.SeriesKey] = field(default_factory=set)


_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class Store:
    def __init__(
        self,
        eng: AsyncEngine,
        *,
        sidecar_file: Path | None = None,
        results_per_check: int = 20,
        retention: Retention | None = None,
        clock: Clock | None = None,
        max_series_per_check: int = 100,
    ) -> None:
        self._engine = eng
        self.clock: Clock = clock or SystemClock()  # "now" when a caller gives none
        self._dialect = eng.dialect.name
        self._sidecar = sidecar_file
        self._ring = max(1, results_per_check)
        self.retention = retention or Retention()
        self.degraded_reason: str | None = None
        self._lock = asyncio.Lock()
        # One writer at a time on SQLite: the outbox shares this lock with the result writer.
        self.write_lock = self._lock
        self._series = perf.SeriesIds()
        self._series_cap = max(1, max_series_per_check)
        self._series_cursor = 0  # where the next look for stale series goes on
        self._capped: set[perf.CheckCols] = set()  # checks warned about since the cap was set
        self.series_dropped = 0  # perfdata values of labels beyond the cap, since the start
        self._five_upto: float | None = None  # the 5-minute roll-up's watermark, as committed
        self._seq: dict[tuple[str, str], int] = {}
        self._bulk: dict[str, Bulk] = {}
        self._acks: dict[CheckKey, Acknowledgement] = {}
        self._downtimes: dict[str, Downtime] = {}
        # active/standby on PostgreSQL: the lease token every write carries (none: one box)
        self.fence = Fence()
        # PostgreSQL: the outbox's "sent" marks on a connection of their own (store/sentmark.py)
        self.sent_marks = SentMarks(eng) if self._dialect == "postgresql" else None

    @property
    def max_series_per_check(self) -> int:
        return self._series_cap

    @max_series_per_check.setter
    def max_series_per_check(self, cap: int) -> None:
        if cap != self._series_cap:
            self._series_cap = max(1, cap)
            self._capped.clear()  # a new cap: say again which checks run into it

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def dialect(self) -> str:
        return self._dialect

    async def reprime(self) -> None:
        """Load the caches anew: another server wrote this database meanwhile (a takeover)."""
        self._seq.clear()
        self._acks.clear()
        self._downtimes.clear()
        self._capped.clear()
        await self._prime()

    async def _prime(self) -> None:
        """Load the in-memory caches that keep the write path free of per-row SELECTs."""
        async with self._engine.begin() as conn:
            # a smaller ring than last time: drop the slots beyond it
            await conn.execute(sa.delete(t.result).where(t.result.c.slot >= self._ring))
            self._five_upto = await perf.get_mark(conn, perf.FIVE_MARK)
            r = t.result.c
            q = sa.select(r.host, r.service, sa.func.max(r.seq).label("seq"))
            for row in await conn.execute(q.group_by(r.host, r.service)):
                self._seq[(sys.intern(row.host), sys.intern(row.service))] = int(row.seq)
            # a check's series are kept under the same (host, service) tuple as its sequence
            self._series = await perf.load_series(conn, {k: k for k in self._seq})
            codec.adopt_cols(self._seq)
            # only acknowledged states matter for the sidecar: don't decode all of them
            acked = sa.select(t.check_state.c.data).where(t.check_state.c.acknowledged)
            for row in await conn.execute(acked):
                st = codec.state_from(row.data)
                if st.acknowledgement is not None:
                    self._acks[st.key] = st.acknowledgement
            for row in await conn.execute(sa.select(t.downtime.c.data)):
                dt = codec.downtime_from(row.data)
                self._downtimes[dt.id] = dt

    # --- reads ----------------------------------------------------------------------------

    async def load(self) -> Snapshot:
        async with self._engine.connect() as conn:
            states = {}
            rows = await conn.execute(sa.select(t.check_state.c.data))
            for n, row in enumerate(rows, 1):
                st = codec.state_from(row.data)
                states[st.key] = st
                if n % LOAD_SLICE == 0:
                    # the loop runs between slices: 10,000 states held it 0.45 s in one piece
                    # while the first checks ran (they start before the store at start-up)
                    await asyncio.sleep(0)
            downtimes = {}
            for row in await conn.execute(sa.select(t.downtime.c.data)):
                dt = codec.downtime_from(row.data)
                downtimes[dt.id] = dt
        return Snapshot(states=states, downtimes=downtimes)

    async def history(
        self, key: CheckKey | None, since: float, until: float, limit: int = 1000
    ) -> list[Event]:
        """Events with since <= at < until, newest first, at most `limit`."""
        e = t.event.c
        q = sa.select(t.event).where(e.at >= since, e.at < until)
        if key is not None:
            host, service = codec.key_cols(key)
            q = q.where(e.host == host, e.service == service)
        q = q.order_by(e.at.desc(), e.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [codec.event_from(row) for row in await conn.execute(q)]

    async def last_results(self, key: CheckKey, limit: int = 20) -> list[CheckResult]:
        """The newest results of one check, newest first."""
        host, service = codec.key_cols(key)
        r = t.result.c
        q = (
            sa.select(t.result)
            .where(r.host == host, r.service == service)
            .order_by(r.seq.desc())
            .limit(min(limit, self._ring))
        )
        async with self._engine.connect() as conn:
            return [codec.result_from(row) for row in await conn.execute(q)]

    async def series_points(
        self,
        key: CheckKey,
        label: str,
        since: float,
        until: float,
        resolution: str = "auto",
        now: float | None = None,
    ) -> list[perf.Point]:
        """(ts, avg, min, max) in [since, until); ts is the bucket start for 5m/1h."""
        host, service = codec.key_cols(key)
        if resolution == "auto":
            now = self.clock.now() if now is None else now
            resolution = perf.choose_resolution(since, until, now, self.retention)
        async with self._engine.connect() as conn:
            sid = self._series.get((host, service, label))
            if sid is None:
                s = t.series.c
                q = sa.select(s.id).where(s.host == host, s.service == service, s.label == label)
                sid = await conn.scalar(q)
            if sid is None:
                return []
            return await perf.series_points(conn, sid, since, until, resolution)

    # --- writes ---------------------------------------------------------------------------

    async def write(self, batch: WriteBatch) -> None:
        """Apply the batch in one transaction (raises on failure; nothing is then written)."""
        if batch.is_empty():
            return
        async with self._lock:
            rows = await self._rows(batch)
            async with self._engine.begin() as conn:
                await self.fence.check(conn)
                new_series, new_seq, capped = await self._write_in(conn, batch, rows)
            # Caches follow the database only once the transaction is committed.
            self._seq.update(new_seq)
            if new_series:
                same = {k: k for k in new_seq}  # a new check's series under its seq's key
                for sk, sid in new_series.items():
                    self._series.add(sk, sid, same.get((sk[0], sk[1])))
            if capped is not None:
                self._count_dropped(capped)
            if self._handling_changed(batch):
                await self._save_sidecar()

    def _bulk_write(
        self, table: sa.Table, update_on: tuple[str, ...] | None = None, keep_old: bool = False
    ) -> Bulk:
        """INSERT of every column but an auto-increment id. On a conflict of the `update_on`
        columns, update every other column; with `keep_old`, skip the row. Compiled once per
        table (each table is written one way)."""
        name = table.name
        found = self._bulk.get(name)
        if found is None:
            cols = [c.name for c in table.c if c.autoincrement is not True]  # ids: the db's
            stmt: Any = perf.insert_for(self._dialect)(table)
            if update_on is not None:
                ex = stmt.excluded
                rest = [c for c in cols if c not in update_on]
                stmt = stmt.on_conflict_do_update(
                    index_elements=list(update_on), set_={c: ex[c] for c in rest}
                )
            elif keep_old:
                stmt = stmt.on_conflict_do_nothing()
            found = self._bulk[name] = compile_bulk(stmt, cols, self._engine.dialect)
        return found

    async def _rows(self, batch: WriteBatch) -> _Rows:
        """The rows of a batch's bulky parts, built in slices of ROW_SLICE with the event loop
        running in between: built at once, 2,000 results with their states and six perfdata
        values each held the loop for 50-80 ms, and every check due meanwhile started late
        (most of the p99 start lateness at 2,000 checks/s). Called under the write lock: the
        result sequence numbers follow the ones committed before."""
        rows = _Rows()
        states, results = batch.states, batch.results
        for at in range(0, max(len(states), len(results)), ROW_SLICE):
            if at:
                await asyncio.sleep(0)
            part = results[at : at + ROW_SLICE]
            texts: codec.PerfTexts = {}  # a state holds its result's perfdata: encoded once
            for res in part:
                k = codec.key_cols(res.key)
                n = rows.seq.get(k, self._seq.get(k, -1)) + 1
                rows.seq[k] = n
                # one row per slot: more than N results of one check in a batch keep the newest
                rows.results[(k[0], k[1], n % self._ring)] = codec.result_row(
                    res, n % self._ring, n, texts
                )
            rows.states += [codec.state_row(st, texts) for st in states[at : at + ROW_SLICE]]
            points, keys = perf.point_rows(part)
            rows.points += points
            rows.keys |= keys
        return rows

    async def _write_in(
        self, conn: AsyncConnection, batch: WriteBatch, rows: _Rows
    ) -> tuple[dict[perf.SeriesKey, int], dict[tuple[str, str], int], perf.Capped | None]:
        if rows.states:
            bulk = self._bulk_write(t.check_state, ("host", "service"))
            await execute_bulk(conn, bulk, rows.states)
        if batch.downtimes_removed:
            await conn.execute(
                sa.delete(t.downtime).where(
                    t.downtime.c.id.in_(
                        [codec.clean_text(i, 1024) for i in batch.downtimes_removed]
                    )
                )
            )
        if batch.downtimes_set:
            bulk = self._bulk_write(t.downtime, ("id",))
            await execute_bulk(conn, bulk, [codec.downtime_row(d) for d in batch.downtimes_set])
        if batch.events:
            bulk = self._bulk_write(t.event)
            await execute_bulk(conn, bulk, [codec.event_row(e) for e in batch.events])
        if batch.notifications:
            # the outbox rows commit with the state change and events that raised them
            await outboxrows.insert_rows(conn, await outboxrows.build_rows(batch.notifications))
        if rows.results:
            bulk = self._bulk_write(t.result, ("host", "service", "slot"))
            await execute_bulk(conn, bulk, list(rows.results.values()))
        new_series, capped = await self._write_points(conn, rows.points, rows.keys)
        return new_series, rows.seq, capped

    async def _write_points(
        self, conn: AsyncConnection, rows: list[perf.PointRow], keys: set[perf.SeriesKey]
    ) -> tuple[dict[perf.SeriesKey, int], perf.Capped | None]:
        missing = self._series.missing(keys)
        capped = None
        if missing:
            capped = perf.cap_series(rows, missing, self._series.count, self._series_cap)
            rows, missing = capped.rows, capped.missing
            if not capped.dropped_points:
                capped = None
        new = await perf.ensure_series(conn, self._dialect, rows, missing) if missing else {}
        known = self._series.get

        def id_of(sk: perf.SeriesKey) -> int:
            # new series join the cache once the transaction is committed (write())
            sid = known(sk)
            return new[sk] if sid is None else sid

        await perf.insert_points(conn, self._bulk_write(t.point, keep_old=True), rows, id_of)
        if self._five_upto is not None and rows:
            # Points the 5-minute roll-up has passed (a late passive result) would otherwise
            # never reach the 5-minute and hourly buckets: mark them for a recompute.
            oldest = min(ts for _, _, ts, _ in rows)
            if oldest < self._five_upto - perf.RELOOK:
                await perf.lower_mark(conn, self._dialect, perf.FIVE_REDO, oldest)
        return new, capped

    def _count_dropped(self, capped: perf.Capped) -> None:
        self.series_dropped += capped.dropped_points
        for check, labels in capped.dropped_labels.items():
            if check in self._capped:
                continue  # said once per check: a plugin that invents labels runs every minute
            self._capped.add(check)
            host, service = check
            log.warning(
                "perfdata series limit reached: values of new labels are dropped "
                "(counted in the store's perfdata_dropped, not logged again for this check)",
                extra={
                    "check": f"{host}/{service}" if service else host,
                    "max_series_per_check": self._series_cap,
                    "dropped_labels": labels,
                },
            )

    def _handling_changed(self, batch: WriteBatch) -> bool:
        changed = bool(batch.downtimes_set or batch.downtimes_removed)
        for dt in batch.downtimes_set:
            self._downtimes[dt.id] = dt
        for dt_id in batch.downtimes_removed:
            self._downtimes.pop(dt_id, None)
        for st in batch.states:
            ack = st.acknowledgement
            if self._acks.get(st.key) != ack:
                changed = True
                if ack is None:
                    del self._acks[st.key]
                else:
                    self._acks[st.key] = ack
        return changed

    async def _save_sidecar(self) -> None:
        if self._sidecar is None:
            return
        try:
            await asyncio.to_thread(
                sidecar.write_sidecar, self._sidecar, dict(self._acks), dict(self._downtimes)
            )
        except OSError as exc:
            # The database already holds the truth; the sidecar is only the fallback copy.
            log.error("could not write handling sidecar %s: %s", self._sidecar, exc)

    async def rollup_and_prune(
        self, now: float, retention: Retention, max_span: float = perf.MAX_SPAN
    ) -> perf.RollupReport:
        """Roll raw points up into 5-minute and hourly buckets and apply retention.

        Idempotent; each call handles at most `max_span` seconds of data per table, so a store
        that fell behind catches up over several calls.
        """
        self.retention = retention
        async with self._lock:
            async with self._engine.begin() as conn:
                report = await perf.rollup_and_prune(conn, self._dialect, now, retention, max_span)
                cutoff = now - perf.longest_keep(retention)
                gone, cursor = await perf.prune_series(conn, cutoff, self._series_cursor)
            self._series_cursor = cursor
            self._five_upto = report.five_minute_upto
            for sk in gone:
                self._series.discard(sk)
            return replace(report, pruned_series=len(gone))

    async def prune_logs(
        self, now: float, retention: Retention, limit: int = logprune.BATCH
    ) -> logprune.LogPruneReport:
        """Apply the notification-log and audit-log retention (at most `limit` rows a table)."""
        async with self._lock, self._engine.begin() as conn:
            return await logprune.prune_logs(conn, now, retention, limit)

    async def checkpoint(self) -> None:
        """SQLite: move the WAL into the database and truncate it (after a full disk, the WAL
        holds the backlog; its space goes back to the disk). A no-op on PostgreSQL."""
        if self._dialect != "sqlite":
            return
        async with self._lock, self._engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        if self.sent_marks is not None:
            await self.sent_marks.close()
        await self._engine.dispose()


def _keep_aside(path: Path, problem: str) -> str:
    aside = recovery.quarantine(path)
    log.error(
        "STORE CORRUPT: %s: %s. Kept it as %s and started on a fresh database; "
        "acknowledgements and downtimes come from the sidecar snapshot",
        path,
        problem,
        aside,
    )
    return f"{problem}; kept as {aside.name}"


async def _open_sqlite(path: Path, busy_timeout_ms: int) -> tuple[AsyncEngine, str | None]:
    await asyncio.to_thread(check_store_paths, path)
    problem = await asyncio.to_thread(recovery.sqlite_problem, path)
    if problem is not None:
        problem = await asyncio.to_thread(_keep_aside, path, problem)
    return database.make_sqlite_engine(path, busy_timeout_ms), problem


async def _restore_handling(store: Store, side: Path) -> None:
    acks, downtimes = await asyncio.to_thread(sidecar.read_sidecar, side)
    states = [CheckState(key=k, acknowledgement=a) for k, a in acks.items()]
    await store.write(WriteBatch(states=states, downtimes_set=list(downtimes.values())))
    log.error(
        "restored %d acknowledgement(s) and %d downtime(s) from %s",
        len(acks),
        len(downtimes),
        side,
    )


async def open_store(
    url_or_path: str,
    *,
    results_per_check: int = 20,
    retention: Retention | None = None,
    busy_timeout_ms: int = 5000,
    schema: str | None = None,
    max_series_per_check: int = 100,
) -> Store:
    """Open (and migrate to head) the store at an SQLite path/URL or a postgresql:// URL.

    `schema` (PostgreSQL only) keeps all tables in that schema, created when missing; the URL
    may also name it as `?schema=NAME`.
    """
    path = database.sqlite_path(url_or_path)
    problem: str | None = None
    if path is None:
        url_or_path, in_url = database.split_schema(url_or_path)
        schema = schema or in_url
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"bad schema name {schema!r}")
        eng = database.make_pg_engine(url_or_path, schema)
    else:
        eng, problem = await _open_sqlite(path, busy_timeout_ms)
    side = sidecar.sidecar_path(path) if path is not None else None
    store = Store(
        eng,
        sidecar_file=side,
        results_per_check=results_per_check,
        retention=retention,
        max_series_per_check=max_series_per_check,
    )
    try:
        await _start(store, schema)
    except sa.exc.DatabaseError as exc:
        if path is None or problem is not None:
            raise StoreError(f"cannot open the store: {exc}") from exc
        # Damage the start-up checks did not see (they skip quick_check on big files).
        problem = await asyncio.to_thread(_keep_aside, path, f"database is unreadable: {exc}")
        store = Store(
            database.make_sqlite_engine(path, busy_timeout_ms),
            sidecar_file=side,
            results_per_check=results_per_check,
            retention=retention,
            max_series_per_check=max_series_per_check,
        )
        await _start(store, schema)
    if problem is not None and side is not None:
        store.degraded_reason = problem
        await _restore_handling(store, side)
    protect_sqlite(path)  # it holds password hashes and sessions: 0600 whatever the umask
    return store


async def _start(store: Store, schema: str | None) -> None:
    try:
        # Refuses (SchemaTooNew, nothing changed) a database written by a newer augenmass.
        await database.migrate(store.engine, schema)
        await store._prime()
    except database.SchemaTooNew as exc:
        await store.engine.dispose()
        log.error("%s", exc)
        raise
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        await store.engine.dispose()
        if isinstance(exc, sa.exc.DatabaseError):
            raise
        raise StoreError(f"cannot open the store: {exc}") from exc
