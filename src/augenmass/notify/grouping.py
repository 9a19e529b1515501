"""Pending outbox rows of one contact and channel → one message.

- A problem still undelivered when its recovery comes is merged with it into one entry
  ("CRITICAL from 10:02 to 10:09, recovered", from its first failed check); the two can never
  go out in the wrong order because everything pending for a contact and channel goes out
  together, oldest first.
- A host DOWN rolls up what sits behind it: its services and the hosts whose only way in is
  through it. Their own UNREACHABLE problems in the same message are folded into that line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import replace

from augenmass.core.messages import Entry, Item, Message, data_time
from augenmass.core.plan import Plan

HOST_DOWN = 1  # UNREACHABLE (2) hosts are what a DOWN one rolls up
MAX_DESCENDANTS = 10_000  # bounds the walk down the parent tree
_STEM = re.compile(r"^(.*?)[-_.]?\d+$")


def message_id(items: list[Item], domain: str) -> str:
    """One Message-ID per content: the same rows give the same id (a resend of what may have
    gone out is dropped as a duplicate by the mail system, rightly), other rows another id (a
    regrouped resend must never hide behind the id of what went out before)."""
    first = items[0]
    ids = ",".join(str(it.id) for it in items).encode()
    digest = hashlib.sha256(ids).hexdigest()[:12]
    return f"<augenmass.{int(first.created * 1000)}.{first.id}.{digest}@{domain}>"


def build_message(items: list[Item], plan: Plan, domain: str) -> Message:
    """`items`: pending rows of ONE contact and channel, in outbox order."""
    ordered = sorted(items, key=lambda it: it.id)
    entries = _roll_up(_merge(ordered), plan)
    return Message(
        contact=ordered[0].contact,
        channel=ordered[0].channel,
        entries=tuple(entries),
        item_ids=tuple(it.id for it in ordered),
        message_id=message_id(ordered, domain),
    )


def _entry(item: Item) -> Entry:
    return Entry(
        type=item.type,
        host=item.host,
        service=item.service,
        state=item.state,
        output=item.output,
        at=item.at,
        number=item.number,
        data=item.data,
    )


def _merge(items: Iterable[Item]) -> list[Entry]:
    entries: list[Entry] = []
    open_problem: dict[tuple[str, str], int] = {}  # check → index of its unsent PROBLEM
    for item in items:
        key = (item.host, item.service)
        index = open_problem.get(key)
        if item.type == "PROBLEM":
            if index is None:
                open_problem[key] = len(entries)
                entries.append(_entry(item))
            else:  # a reminder or a state change: one line, the newest state, the first time
                first = entries[index]
                since = first.data.get("since", first.at)
                entries[index] = replace(_entry(item), data={**item.data, "since": since})
            continue
        if item.type == "RECOVERY" and index is not None:
            problem = entries[index]
            entries[index] = replace(
                _entry(item),
                problem_state=problem.state,
                problem_at=_problem_began(problem),
            )
            del open_problem[key]
            continue
        entries.append(_entry(item))
    return entries


def _problem_began(problem: Entry) -> float:
    # the first failed check where the engine said it (rows written before: the first
    # notification's time)
    began = data_time(problem.data, "began")
    return began if began is not None else float(problem.data.get("since", problem.at))


def descendants(plan: Plan, host: str) -> list[str]:
    """Hosts behind `host` in the parent tree, breadth first (bounded)."""
    found: list[str] = []
    seen = {host}
    queue = [host]
    while queue and len(found) < MAX_DESCENDANTS:
        current = queue.pop(0)
        for child in plan.children_of(current):
            if child not in seen:
                seen.add(child)
                found.append(child)
                queue.append(child)
    return found


def _roll_up(entries: list[Entry], plan: Plan) -> list[Entry]:
    down = [
        e
        for e in entries
        if e.type == "PROBLEM" and not e.service and e.state == HOST_DOWN and e.host in plan.hosts
    ]
    covered: set[str] = set()
    affected_of: dict[str, tuple[str, ...]] = {}
    for entry in down:
        behind = descendants(plan, entry.host)
        covered.update(behind)
        services = [s.name for s in plan.services_of(entry.host)]
        affected_of[entry.host] = tuple(services + behind)
    out: list[Entry] = []
    for entry in entries:
        if entry.host in covered and entry.type == "PROBLEM" and entry.host not in affected_of:
            continue  # an UNREACHABLE host (or its service) behind a DOWN one: on that line
        if entry.host in affected_of and not entry.service and entry.type == "PROBLEM":
            entry = replace(entry, affected=affected_of[entry.host])
        out.append(entry)
    return out


def summarize_names(names: Iterable[str], language: str = "en") -> list[str]:
    """['printer', 'phone1', 'phone2', 'phone3', 'wlan'] → ['printer', '3 phones', 'wlan']."""
    order: list[str] = []
    groups: dict[str, list[str]] = {}
    for name in names:
        match = _STEM.match(name)
        stem = match.group(1) if match and match.group(1) else name
        if stem not in groups:
            order.append(stem)
            groups[stem] = []
        groups[stem].append(name)
    out: list[str] = []
    for stem in order:
        members = groups[stem]
        if len(members) < 3:
            out.extend(members)
        elif language == "de":
            out.append(f"{len(members)}× {stem}")
        else:
            out.append(f"{len(members)} {stem}s")
    return out
