"""NotificationService: the object the server wires.

service = NotificationService(plan, store, clock)
await service.start()
queued = service.prepare(events, now)  # outbox rows, written WITH the state change (WriteBatch)
service.committed(queued)              # once that transaction is committed: send them
service.reload(plan)
await service.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from augenmass.core.clock import Clock
from augenmass.core.messages import Message, SendError
from augenmass.core.plan import Plan
from augenmass.core.values import Event
from augenmass.notify.channels import channels_of, make_channel
from augenmass.notify.dispatcher import Dispatcher, NotifyStats
from augenmass.notify.message import render
from augenmass.notify.settle import row_wait
from augenmass.store import Store
from augenmass.store.outbox import LogEntry, NewItem, Outbox, Queued

log = logging.getLogger("augenmass.notify")

# what the messages use of an event's data; "began" and "confirmed": the problem's times
_DATA_KEYS = ("escalated", "author", "comment", "held", "contact_groups", "began", "confirmed")

__all__ = ["NotificationService", "NotifyStats", "make_channel", "items_for"]


def items_for(
    events: Iterable[Event], plan: Plan, fallback: str | None = None
) -> tuple[list[NewItem], list[str]]:
    """Outbox rows for the notification events; and the contacts no channel reaches
    (`fallback`: a channel name to use for those instead, e.g. for `simulate`)."""
    items: list[NewItem] = []
    unreachable: list[str] = []
    for ev in events:
        if ev.kind != "notification":
            continue
        data = {k: ev.data[k] for k in _DATA_KEYS if k in ev.data}
        for name in ev.data.get("contacts", ()):
            contact = plan.contacts.get(name)
            names = channels_of(contact, plan.notifications) if contact is not None else []
            if not names:
                unreachable.append(name)
                names = [fallback] if fallback else []
            for channel in names:
                items.append(
                    NewItem(
                        contact=name,
                        channel=channel,
                        type=str(ev.data.get("type", "CUSTOM")),
                        host=ev.key.host,
                        service=ev.key.service or "",
                        state=ev.state,
                        number=int(ev.data.get("number", 0)),
                        at=ev.at,
                        output=ev.output,
                        data=data,
                    )
                )
    return items, unreachable


class NotificationService:
    def __init__(self, plan: Plan, store: Store, clock: Clock) -> None:
        self.plan = plan
        self.clock = clock
        # share the store's write lock: on SQLite one writer at a time, no "database is locked"
        self.outbox = Outbox.of(store, clock)
        self.dispatcher = Dispatcher(self.outbox, plan, clock, make_channel)
        self._task: asyncio.Task[None] | None = None
        self._warned: set[str] = set()

    async def start(self) -> None:
        counts = await self.outbox.counts()
        self.dispatcher.stats.pending = counts["pending"]
        self.dispatcher.stats.failed = counts["failed"]
        if counts["pending"]:
            log.info("outbox holds unsent notifications", extra={"pending": counts["pending"]})
        self._task = asyncio.create_task(self.dispatcher.run(), name="notify")

    async def stop(self) -> None:
        # A send cut off here stays pending and goes out after the next start.
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def halt(self) -> None:
        """Stop sending now (a server stepping down to standby): cut off, a send stays
        pending and the active server sends it."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def prepare(self, events: Iterable[Event], now: float) -> Queued | None:
        """The outbox rows of these events, for the server to write in the transaction of
        the state change that raised them (None: no notification among them)."""
        items, unreachable = items_for(events, self.plan)
        for name in sorted(set(unreachable) - self._warned):
            self._warned.add(name)  # once per contact and run, not once per notification
            log.warning("notification for a contact without any channel", extra={"contact": name})
        if not items:
            return None
        wait = max(row_wait(self.plan, it.host, it.service, it.type) for it in items)
        return Queued(tuple(items), now, now + wait)

    def committed(self, queued: Queued | None) -> None:
        """Rows of `prepare` are committed: the dispatcher may send them."""
        if queued is not None:
            self.dispatcher.stats.pending += len(queued.items)
            self.dispatcher.wake.set()

    async def handle(self, events: list[Event]) -> None:
        """Write the rows of these events in a transaction of their own, then wake the
        dispatcher (for callers without a state change to share a transaction with)."""
        queued = self.prepare(events, self.clock.now())
        if queued is None:
            return
        try:
            await self.outbox.add(queued.items, queued.created, queued.due)
        except Exception as exc:
            log.error(
                "NOTIFICATIONS NOT WRITTEN to the outbox",
                extra={"notifications": len(queued.items), "error": repr(exc)},
            )
            raise
        self.committed(queued)

    def reload(self, plan: Plan) -> None:
        self.plan = plan
        self._warned.clear()
        self.dispatcher.set_plan(plan)
        self.dispatcher.wake.set()

    @property
    def stats(self) -> NotifyStats:
        return self.dispatcher.stats

    async def send_test(self, contact_name: str) -> str:
        """Send a test message on every channel of the contact now (not via the outbox)."""
        contact = self.plan.contacts.get(contact_name)
        if contact is None:
            raise KeyError(contact_name)
        names = channels_of(contact, self.plan.notifications)
        if not names:
            return f"{contact_name}: no channel configured (e-mail needs notifications.smtp)"
        now = self.clock.now()
        domain = self.dispatcher.domain
        lines: list[str] = []
        logs: list[LogEntry] = []
        for name in names:
            message = Message(contact.name, name, (), (), f"<augenmass.test.{int(now)}@{domain}>")
            rendered = render(self.dispatcher.renderer, None, contact.name, contact.language, True)
            channel = make_channel(self.plan, name)
            try:
                if channel is None:
                    raise SendError("channel not configured", retry=False)
                await asyncio.wait_for(channel.send(message, rendered, contact), 60)
                result, detail = "sent", ""
            except SendError as exc:
                result, detail = "failed", exc.reason
            except TimeoutError:
                result, detail = "failed", "timed out"
            lines.append(f"{name}: {result}" + (f" ({detail})" if detail else ""))
            logs.append(LogEntry(now, contact.name, name, "TEST", "", 1, result, detail))
        await self.outbox.log(logs)
        return "\n".join(lines)
