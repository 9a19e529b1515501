"""`augenmass status`: current problems from the store, as a table or JSON."""

from __future__ import annotations

import re
from typing import Any

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


def render_table(rows: list[dict[str, Any]], now: float, console: Console | None = None) -> None:
    console = console or Console()
    if not rows:
        console.print(Text("No problems.", style="green"))
        return
    table = Table(title=f"{len(rows)} problem{'s' if len(rows) != 1 else ''}")
    for col in ("Host", "Service", "State", "Type", "Attempt", "Since", "Handled", "Output"):
        table.add_column(col)
    for r in rows:
        handled = ", ".join(
            w
            for w, on in (
                ("ack", r["acknowledged"]),
                ("downtime", r["in_downtime"]),
                ("flapping", r["flapping"]),
            )
            if on
        )
        # Text() never interprets markup, so hostile output cannot style or fake rows.
        table.add_row(
            Text(r["host"]),
            Text(r["service"] or "—"),
            Text(r["state"], style=_COLOURS.get(r["state"], "")),
            Text(str(r["state_type"])),
            Text(str(r["attempt"])),
            Text(format_age(now - r["since"])),
            Text(handled),
            Text(_CONTROL.sub("?", r["output"].splitlines()[0] if r["output"] else "")),
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
