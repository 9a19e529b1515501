"""A year of the example configuration's data in a real store: disk use, housekeeping, backup.

The checks and their intervals come from the configuration (`examples/config` by default); the
performance-data series each check type writes are listed in SERIES below (read off the probes).
The store is created by `open_store` (real schema); check states and the result ring are written
through the store, the year of history straight into its tables at the configured rates, as the
running server and its roll-up step would have left them after `--days` days with the
configuration's retention:

- raw points for the raw retention (48 h by default), 5-minute roll-ups for the five_minute
  retention (30 days), hourly roll-ups for min(days, hourly retention);
- state-change events, notification log lines, outbox rows and audit lines at the rates of the
  options below (assumptions, printed with the figures) for min(days, their retention).

Then it measures the file, the bytes per row of every table (SQLite's dbstat, indexes
included), one housekeeping pass (roll-up + pruning), opening the store, and `backup_sqlite`.
Everything is written to a temporary directory that is removed at the end; the run is bounded
(about 1.5 million rows for the example, under a minute on 2 vCPUs).

Usage: python bench/bench_year.py [--config examples/config] [--days 365]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sqlite3
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from augenmass.config import load_config
from augenmass.core.plan import Plan, Retention
from augenmass.core.values import CheckKey, CheckResult, CheckState, PerfDatum
from augenmass.server.server import SELF_KEY, build_jobs
from augenmass.store import WriteBatch, open_store
from augenmass.store.backup import backup_sqlite

DAY = 86400.0

# Labels each check type writes (from the probes; a plugin's are its own: check_disk writes one
# per file system, the example checks one). Types not listed are assumed to write one series.
SERIES: dict[str, tuple[str, ...]] = {
    "http": ("time", "time_dns", "time_connect", "time_firstbyte", "size"),  # + time_tls on https
    "tcp": ("time",),
    "tls": ("days_chain", "days_leaf"),
    "smtp": ("time",),
    "imap": ("time",),
    "mailqueue": ("total", "active", "deferred", "hold", "incoming", "oldest_age"),
    "disk": ("/ used", "/ free", "/ inodes"),
    "load": ("load1", "load5", "load15"),
    "plugin": ("/",),
    "printer": ("black", "cyan", "magenta", "yellow"),  # a colour printer's toners
    "snmp-interface": ("in_bps", "out_bps", "errors_per_s"),
    "sip": ("time", "retransmits"),
    "icmp": ("pl", "rta", "rtmax", "rtmin"),
    "self": (
        "checks_started",
        "in_flight",
        "queued",
        "lateness_p50",
        "lateness_p99",
        "lateness_max",
        "checks",
    ),  # fmt: skip
}


@dataclass(frozen=True, slots=True)
class Check:
    key: CheckKey
    type: str
    interval: float
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rates:
    events_per_check_day: float
    notifications_per_day: float
    outbox_per_notification: float
    audit_per_day: float


def checks_of(plan: Plan) -> list[Check]:
    out = [
        Check(key, job.check.type, job.interval, SERIES.get(job.check.type, ("value",)))
        for key, job in build_jobs(plan).items()
        if job.active
    ]
    out.append(Check(SELF_KEY, "self", plan.settings.self_metrics_interval, SERIES["self"]))
    return out


def _floor(ts: float, step: float) -> int:
    return int(math.floor(ts / step) * step)


async def write_current(db: Path, checks: list[Check], now: float, ring: int) -> None:
    """States and the last `ring` results per check, through the store (as the server writes)."""
    store = await open_store(str(db), results_per_check=ring)
    rnd = random.Random(2)
    try:
        for c in checks:
            results = [
                CheckResult(
                    c.key,
                    0,
                    f"{c.type.upper()} OK - {rnd.random() * 100:.3f} in {rnd.random():.6f} s",
                    perfdata=tuple(PerfDatum(lbl, rnd.random() * 100, "s") for lbl in c.labels),
                    started_at=now - (ring - i) * c.interval,
                    duration=rnd.random(),
                )
                for i in range(ring)
            ]
            st = CheckState(
                key=c.key,
                state=0,
                checked=True,
                last_check=now,
                last_state_change=now - 3 * DAY,
                output=results[-1].output,
                perfdata=results[-1].perfdata,
            )
            await store.write(WriteBatch(results=results, states=[st]))
    finally:
        await store.close()


def _series_ids(con: sqlite3.Connection) -> dict[tuple[str, str, str], int]:
    rows = con.execute("SELECT host, service, label, id FROM series")
    return {(h, s, lbl): i for h, s, lbl, i in rows}


def fill_history(
    db: Path, checks: list[Check], now: float, days: int, ret: Retention, rates: Rates
) -> dict[str, int]:
    rnd = random.Random(1)
    con = sqlite3.connect(db)
    written: dict[str, int] = {}
    ids = _series_ids(con)

    def put(table: str, cols: str, rows: list[tuple[object, ...]]) -> None:
        marks = ",".join("?" * len(rows[0]))
        con.executemany(f"INSERT OR IGNORE INTO {table} ({cols}) VALUES ({marks})", rows)
        written[table] = written.get(table, 0) + len(rows)

    span = days * DAY
    five_upto, hour_upto = _floor(now - 60, 300), _floor(now - 60, 3600)
    for c in checks:
        host, service = c.key.host, c.key.service or ""
        for label in c.labels:
            sid = ids[(host, service, label)]
            start = now - min(span, ret.raw)
            n = int((now - start) / c.interval)
            pts = [
                (sid, start + i * c.interval + rnd.random(), rnd.random() * 100) for i in range(n)
            ]
            put("point", "series_id, ts, value", pts)
            for table, step, keep, upto in (
                ("rollup_5m", 300, ret.five_minute, five_upto),
                ("rollup_1h", 3600, ret.hourly, hour_upto),
            ):
                every = max(step, _floor(c.interval + step - 1, step))  # a bucket per check
                first = _floor(now - min(span, keep), step)
                rows = []
                for b in range(first, upto, int(every)):
                    lo, hi = rnd.random() * 50, 50 + rnd.random() * 50
                    count = max(1, int(step / c.interval))
                    rows.append((sid, b, (lo + hi) / 2, lo, hi, count))
                if rows:
                    put(table, "series_id, bucket, avg, min, max, count", rows)
    con.executemany(
        "INSERT OR REPLACE INTO store_meta (name, value) VALUES (?, ?)",
        [("rollup_5m_upto", five_upto), ("rollup_1h_upto", hour_upto)],
    )

    keys = [c.key for c in checks if c.type != "self"]
    n = int(rates.events_per_check_day * len(keys) * min(days * DAY, ret.history) / DAY)
    events = []
    for i in range(n):
        k = keys[i % len(keys)]
        state = (0, 2, 1, 2)[i % 4]
        data = {"type": "PROBLEM", "contacts": ["it-lead", "it-officer", "web-admin"]}
        events.append((
            now - rnd.random() * min(span, ret.history), k.host, k.service or "",
            "state" if i % 3 else "notification", state, "HARD", 3,
            f"HTTP CRITICAL - connection refused by 127.0.0.{i % 255} port 443 ({i})",
            json.dumps(data if i % 3 == 0 else {}),
        ))  # fmt: skip
    put("event", "at, host, service, kind, state, state_type, attempt, output, data", events)

    told = min(span, ret.notification_log)
    notes = int(rates.notifications_per_day * told / DAY)
    outbox, log = [], []
    for i in range(notes):
        at = now - rnd.random() * told
        k = keys[i % len(keys)]
        log.append((at, "it-lead", "email", "PROBLEM", f"{k}, 2 more", 3, "sent", ""))
        for j in range(int(rates.outbox_per_notification)):
            outbox.append((
                at, at, "sent", ("it-lead", "it-officer", "web-admin")[j % 3], "email",
                "PROBLEM", k.host, k.service or "", 2, 1, at,
                "HTTP CRITICAL - connection refused", '{"escalated": false}', 1, "", at + 1,
                f"<{i}.{j}.augenmass@example.org>",
            ))  # fmt: skip
    put("notify_log", "at, contact, channel, type, checks, notifications, result, detail", log)
    put(
        "notify_outbox",
        "created, due, status, contact, channel, type, host, service, state, number, at, output,"
        " data, attempts, last_error, sent_at, message_id",
        outbox,
    )
    audited = min(span, ret.audit_log)
    audit = [
        (now - rnd.random() * audited, "admin", "acknowledge", "www1/website", "comment: on it")
        for _ in range(int(rates.audit_per_day * audited / DAY))
    ]
    put("audit_log", "at, user_name, action, target, detail", audit)
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return written


def table_sizes(db: Path) -> dict[str, tuple[int, int]]:
    """table -> (rows, bytes of the table and its indexes)."""
    con = sqlite3.connect(db)
    try:
        owner = dict(con.execute("SELECT name, tbl_name FROM sqlite_master WHERE tbl_name != ''"))
        size: dict[str, int] = {}
        for name, pages in con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name, name)
            size[table] = size.get(table, 0) + int(pages)
        return {
            t: (int(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]), b)
            for t, b in size.items()
            if not t.startswith("sqlite_")
        }
    finally:
        con.close()


def compressed_size(path: Path) -> tuple[int, float]:
    t0 = time.perf_counter()
    z = zlib.compressobj(6)
    n = 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += len(z.compress(block))
    n += len(z.flush())
    return n, time.perf_counter() - t0


async def housekeeping(db: Path, now: float, ret: Retention) -> tuple[float, float]:
    t0 = time.perf_counter()
    store = await open_store(str(db), retention=ret)
    opened = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        await store.rollup_and_prune(now + 300, ret)  # the next pass, five minutes later
        await store.prune_logs(now + 300, ret)
        return opened, time.perf_counter() - t0
    finally:
        await store.close()


def mib(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


async def main(config: Path, days: int, rates: Rates) -> None:
    plan = load_config(config)
    ret = plan.settings.retention
    checks = checks_of(plan)
    per_day = sum(len(c.labels) * DAY / c.interval for c in checks)
    results = sum(DAY / c.interval for c in checks)
    print(f"configuration {config}: {len(checks) - 1} checks + the scheduler's own figures, "
          f"{sum(len(c.labels) for c in checks)} perfdata series, "
          f"{results:,.0f} results and {per_day:,.0f} points a day")  # fmt: skip
    print(f"retention: raw {ret.raw / DAY:g} d, 5-minute {ret.five_minute / DAY:g} d, hourly "
          f"{ret.hourly / DAY:g} d, history {ret.history / DAY:g} d, notification log "
          f"{ret.notification_log / DAY:g} d, audit log {ret.audit_log / DAY:g} d")  # fmt: skip
    print(f"assumed: {rates.events_per_check_day:g} events per check and day, "
          f"{rates.notifications_per_day:g} notifications a day "
          f"({rates.outbox_per_notification:g} outbox rows each), "
          f"{rates.audit_per_day:g} audit lines a day; simulated: {days} days")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="augenmass-year-") as tmp:
        db = Path(tmp) / "augenmass.db"
        now = time.time()
        t0 = time.perf_counter()
        await write_current(db, checks, now, ring=20)
        written = fill_history(db, checks, now, days, ret, rates)
        print(f"written {sum(written.values()):,} rows in {time.perf_counter() - t0:.1f} s")
        size = db.stat().st_size
        print(f"\ndatabase file: {size:,} bytes ({mib(size)})")
        print(f"{'table':<15}{'rows':>12}{'bytes':>14}{'bytes/row':>11}")
        sizes = table_sizes(db)
        for table, (rows, nbytes) in sorted(sizes.items(), key=lambda kv: -kv[1][1]):
            per = f"{nbytes / rows:.0f}" if rows else "-"
            print(f"{table:<15}{rows:>12,}{nbytes:>14,}{per:>11}")
        # after the second year: hourly roll-ups and history reach their 730-day retention
        grow = 0.0
        for table, keep in (("rollup_1h", ret.hourly), ("event", ret.history)):
            rows, nbytes = sizes.get(table, (0, 0))
            if rows and keep > days * DAY:
                grow += nbytes * (keep / (days * DAY) - 1)
        print(f"steady state (hourly and history at full retention): about {mib(size + grow)}")

        opened, house = await housekeeping(db, now, ret)
        print(f"\nopening the store (start-up checks included): {opened:.2f} s")
        print(f"one housekeeping pass (roll-up + pruning, logs included): {house:.2f} s")

        rep = backup_sqlite(db, Path(tmp) / "backup.db")
        packed, secs = compressed_size(rep.path)
        print(f"backup: {rep.size:,} bytes ({mib(rep.size)}) in {rep.seconds:.2f} s; "
              f"zlib level 6: {mib(packed)} in {secs:.1f} s")  # fmt: skip


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=Path("examples/config"))
    ap.add_argument("--days", type=int, default=365, help="simulated age of the store (1-730)")
    ap.add_argument("--events-per-check-day", type=float, default=1.0)
    ap.add_argument("--notifications-per-day", type=float, default=5.0)
    ap.add_argument("--outbox-per-notification", type=float, default=3.0)
    ap.add_argument("--audit-per-day", type=float, default=20.0)
    a = ap.parse_args()
    if not 1 <= a.days <= 730:
        ap.error("--days must be 1..730 (the run stays bounded)")
    r = Rates(
        a.events_per_check_day,
        a.notifications_per_day,
        a.outbox_per_notification,
        a.audit_per_day,
    )
    asyncio.run(main(a.config, a.days, r))
