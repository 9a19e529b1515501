"""What `augenmass simulate` shows of delivery: every message that would go out.

The engine's notification events are turned into outbox items per contact and channel and
grouped exactly as the dispatcher does (group_wait or the settle window, group_interval,
problem+recovery merged, host-down roll-up), assuming every send succeeds at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from augenmass.core.messages import Entry, Item, Message
from augenmass.core.plan import Contact, Plan
from augenmass.core.values import Event, state_name
from augenmass.notify.grouping import build_message, summarize_names
from augenmass.notify.message import Renderer, incident_lines, render
from augenmass.notify.service import items_for
from augenmass.notify.settle import row_wait


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class MessagePlanner:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.pending: dict[tuple[str, str], list[Item]] = {}
        self.last_sent: dict[tuple[str, str], float] = {}
        self.renderer = Renderer(
            plan.notifications.templates_dir,
            plan.settings.timezone,
            plan.notifications.max_output,
            plan.settings.base_url,
        )
        self._next_id = 1

    def add(self, events: list[Event]) -> None:
        items, _ = items_for(events, self.plan, fallback="none")
        for new in items:
            item = Item(
                id=self._next_id,
                created=new.at,
                contact=new.contact,
                channel=new.channel,
                type=new.type,
                host=new.host,
                service=new.service,
                state=new.state,
                number=new.number,
                at=new.at,
                output=new.output,
                data=new.data,
            )
            self._next_id += 1
            self.pending.setdefault((item.contact, item.channel), []).append(item)

    def _ready_at(self, key: tuple[str, str]) -> float:
        n = self.plan.notifications
        # as the dispatcher: the earliest due row, each waiting group_wait or a settle window
        first = min(
            it.created + row_wait(self.plan, it.host, it.service, it.type)
            for it in self.pending[key]
        )
        return max(first, self.last_sent.get(key, float("-inf")) + n.group_interval)

    def until(self, now: float | None, *, before: bool = False) -> list[dict[str, Any]]:
        """Message rows of every group ready by `now` (before=True: strictly earlier; None:
        everything), in time order."""
        rows: list[tuple[float, dict[str, Any]]] = []
        for key in sorted(self.pending):
            at = self._ready_at(key)
            if now is None or at < now or (at == now and not before):
                message = build_message(self.pending.pop(key), self.plan, "simulate")
                self.last_sent[key] = at
                rows.append((at, self._row(message, at)))
        rows.sort(key=lambda r: r[0])
        return [row for _, row in rows]

    def _row(self, message: Message, at: float) -> dict[str, Any]:
        contact = self.plan.contacts.get(message.contact, Contact(message.contact))
        rendered = render(self.renderer, message, contact.name, contact.language)
        lines = incident_lines(self.renderer, message, contact.language)
        covers = []
        for e, headline in zip(message.entries, lines, strict=True):
            covers.append(_cover(e, headline, contact.language))
        return {
            "at": _iso(at),
            "event": "message",
            # host/service of the first check covered, like every other row has them
            "host": message.entries[0].host,
            "service": message.entries[0].service or None,
            "contact": message.contact,
            "channel": message.channel,
            "type": message.entries[0].type if len(message.entries) == 1 else "GROUP",
            "subject": rendered.subject,
            "notifications": len(message.item_ids),  # outbox rows it carries, folded ones too
            "covers": covers,
        }


def _cover(e: Entry, headline: str, language: str) -> dict[str, Any]:
    """One entry as the admin checks it: the line the mail opens it with, and its parts."""
    line: dict[str, Any] = {
        "type": e.type,
        "check": e.host if not e.service else f"{e.host}/{e.service}",
        "state": state_name(e.state, not e.service),
    }
    if e.problem_state is not None:
        line["recovered_from"] = state_name(e.problem_state, not e.service)
    if headline:
        line["line"] = headline
    if e.affected:
        line["affected"] = summarize_names(e.affected, language)
    if e.behind and e.type == "PROBLEM":
        line["unreachable"] = summarize_names(e.behind, language)
    if e.reachable is not None:  # a host's RECOVERY: so many of the hosts behind it are back
        line["reachable"] = e.reachable
        line["behind"] = len(e.behind)
    if e.part_of:
        line["part_of"] = list(e.part_of)
    return line
