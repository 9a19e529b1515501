"""`augenmass status`: current problems from the store, as a table or JSON."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from augenmass.core.duration import format_age
from augenmass.core.values import CheckState, StateType, problem_start, shown_since, state_name
from augenmass.store import open_store

# Severity for sorting: hosts down first, then CRITICAL, UNKNOWN, WARNING.
_HOST_RANK = {1: 0, 2: 1}
_SERVICE_RANK = {2: 2, 3: 3, 1: 4}
_COLOURS = {
    "OK": "green",
    "UP": "green",
    "WARNING": "yellow",
    "CRITICAL": "red",
    "UNKNOWN": "magenta",
    "DOWN": "red",
    "UNREACHABLE": "red",
    "PENDING": "bright_black",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _row(st: CheckState, in_downtime: bool) -> dict[str, Any]:
    name = state_name(st.state, st.key.is_host) if st.checked else "PENDING"
    return {
        "host": st.key.host,
        "service": st.key.service,
        "state": name,
        "state_type": st.state_type.value
        if isinstance(st.state_type, StateType)
        else st.state_type,
        "attempt": st.attempt,
        "last_check": st.last_check,
        "last_state_change": st.last_state_change,
        "problem_since": problem_start(st),
        "since": shown_since(st),  # a problem since its first failed check
        "acknowledged": st.acknowledgement is not None,
        "in_downtime": in_downtime,
        "flapping": st.is_flapping,
        "output": st.output,
    }


def _is_problem(st: CheckState) -> bool:
    return st.checked and st.state != 0


async def load_rows(url: str, problems_only: bool = True) -> list[dict[str, Any]]:
    store = await open_store(url)
    try:
        snap = await store.load()
    finally:
        await store.close()
    down_keys = {d.key for d in snap.downtimes.values() if d.started_at is not None}
    down_hosts = {k.host for k in down_keys if k.is_host}
    rows = [
        _row(st, st.key in down_keys or st.key.host in down_hosts)
        for st in snap.states.values()
        if not problems_only or _is_problem(st)
    ]

    def order(r: dict[str, Any]) -> tuple[int, int, float, str, str]:
        handled = int(r["acknowledged"] or r["in_downtime"])
        st = [
            s for s in ("DOWN", "UNREACHABLE", "CRITICAL", "UNKNOWN", "WARNING") if s == r["state"]
        ]
        rank = ("DOWN", "UNREACHABLE", "CRITICAL", "UNKNOWN", "WARNING").index(st[0]) if st else 9
        return handled, rank, r["since"], r["host"], r["service"] or ""

    rows.sort(key=order)
    return rows


_SHORT = {"CRITICAL": "CRIT", "WARNING": "WARN", "UNKNOWN": "UNKN", "UNREACHABLE": "UNREACH"}


def _title(rows: list[dict[str, Any]], problems_only: bool) -> str:
    problems = sum(1 for r in rows if r["state"] not in ("OK", "UP", "PENDING"))
    plural = "s" if problems != 1 else ""
    if problems_only:
        return f"{problems} problem{plural}"
    return f"{len(rows)} check{'s' if len(rows) != 1 else ''}, {problems} problem{plural}"


def _state_text(r: dict[str, Any]) -> str:
    return _state_cell(r).plain


def _state_cell(r: dict[str, Any]) -> Text:
    """`CRIT soft 2/3 ack`: the state with what an admin reads next to it, in one short cell."""
    cell = Text(_SHORT.get(r["state"], r["state"]), style=_COLOURS.get(r["state"], ""))
    if str(r["state_type"]).upper() == "SOFT" and r["state"] not in ("OK", "UP", "PENDING"):
        cell.append(f" soft {r['attempt']}")
    marks = [
        w
        for w, on in (("ack", r["acknowledged"]), ("dt", r["in_downtime"]), ("flap", r["flapping"]))
        if on
    ]
    if marks:
        cell.append(" " + ",".join(marks), style="cyan")
    return cell


def render_table(
    rows: list[dict[str, Any]],
    now: float,
    console: Console | None = None,
    problems_only: bool = True,
) -> None:
    """One line per check, fitted to the terminal (80 columns and up): names and output are
    cut with an ellipsis rather than wrapped a word a line."""
    console = console or Console()
    if not rows:
        console.print(Text("No problems." if problems_only else "No checks yet.", style="green"))
        return
    table = Table(title=_title(rows, problems_only), box=box.SIMPLE_HEAD, pad_edge=False)
    # Widths computed here, not by rich: squeezed, rich drops whole columns (State, Since) to
    # keep a long output. Check gets a third (at most 32 characters); Output takes the rest.
    names = [f"{r['host']}/{r['service']}" if r["service"] else r["host"] for r in rows]
    check_w = min(max(16, console.width // 3), 32, max(5, *map(len, names)))
    state_w = max(5, *(len(_state_text(r)) for r in rows))
    since_w = max(5, *(len(format_age(now - r["since"])) for r in rows))
    output_w = max(10, console.width - check_w - state_w - since_w - 4 * 3)
    table.add_column("Check", no_wrap=True, overflow="ellipsis", width=check_w)
    table.add_column("State", no_wrap=True, width=state_w)
    table.add_column("Since", no_wrap=True, justify="right", width=since_w)
    table.add_column("Output", no_wrap=True, overflow="ellipsis", max_width=output_w)
    for r, name in zip(rows, names, strict=True):
        first = r["output"].splitlines()[0] if r["output"] else ""
        # Text() never interprets markup, so hostile output cannot style or fake rows.
        table.add_row(
            Text(_CONTROL.sub("?", name)),
            _state_cell(r),
            Text(format_age(now - r["since"])),
            Text(_CONTROL.sub("?", first)),
        )
    console.print(table)


async def notify_summary(url: str) -> str | None:
    """A warning line when notifications failed for good (None when all is well)."""
    from augenmass.store.reads import outbox_counts

    store = await open_store(url)
    try:
        counts = await outbox_counts(store)
    finally:
        await store.close()
    failed, pending = counts["failed"], counts["pending"]
    if not failed:
        return None
    return (
        f"{failed} notification{'s' if failed != 1 else ''} FAILED for good, {pending} pending:"
        " see `augenmass notify log`"
    )


CLUSTER_FIGURES = "augenmass.cluster.json"  # written by the server every 5 s (server/server.py)
_STALE = 30.0


def worker_lines(data_dir: Path, now: float) -> list[str]:
    """The check workers per zone (docs/workers.md), from the figures the running server
    writes; empty without a `cluster.nats` section. At most 80 columns."""
    try:
        figures = json.loads((data_dir / CLUSTER_FIGURES).read_text())
        zones = figures["zones"]
        age = now - float(figures["written_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return []
    state = "connected" if figures.get("connected") else "NOT CONNECTED: the server checks all"
    head = f"Workers (NATS {state})"
    if age > _STALE:
        head += f", figures {format_age(age)} old"
    lines = [
        head,
        f"{'zone':<14}{'workers':>8}{'busy':>10}{'load':>6}{'waiting':>8}"
        f"{'redeliv':>8}{'expired':>8}{'lost':>7}{'on srv':>8}",
    ]
    for z in zones:
        try:
            busy = f"{int(z['running'])}/{int(z['slots'])}"
            lines.append(
                f"{_CONTROL.sub('?', str(z['zone']))[:13]:<14}{int(z['workers']):>8}{busy:>10}"
                f"{float(z['load1']):>6.2f}{int(z['waiting']):>8}{int(z['redelivered']):>8}"
                f"{int(z['expired']):>8}{int(z['unanswered']):>7}{int(z['ran_here']):>8}"
            )
        except (KeyError, TypeError, ValueError):
            continue
    if figures.get("duplicates"):
        lines.append(f"duplicate answers ignored: {int(figures['duplicates'])}")
    return lines


async def cluster_line(url: str) -> str | None:
    """Which server is active, on a PostgreSQL store shared by active/standby servers (None:
    SQLite, or no server ever took the lease)."""
    from augenmass.store.lease import read_lease

    store = await open_store(url)
    try:
        view = await read_lease(store)
    finally:
        await store.close()
    if view is None:
        return None
    since = datetime.fromtimestamp(view.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if view.valid:
        return f"active server: {view.holder} (since {since}, fencing token {view.token})"
    return (
        f"NO ACTIVE SERVER: the lease of {view.holder} expired"
        f" {format_age(-view.expires_in)} ago; a standby takes over at its next try"
    )
