"""The send loop: pending outbox rows → one message per contact and channel → the channel.

Timing per contact and channel (like Alertmanager): a new row waits `group_wait` for company;
two messages are at least `group_interval` apart; after a failed attempt the whole group waits
its exponential backoff, so a recovery that arrives meanwhile joins its problem instead of
overtaking it. A row is marked sent only after the channel confirmed it, so a crash in between
resends it: the one duplicate we accept. The Message-ID names the content (the set of rows):
the same rows again carry the same id, rows regrouped with newcomers a new one that refers to
the earlier attempt (noted on the rows before each send).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from augenmass.core.clock import Clock
from augenmass.core.messages import Item, Message, SendError
from augenmass.core.plan import Contact, Plan
from augenmass.notify.channel import Channel
from augenmass.notify.grouping import build_message
from augenmass.notify.message import Renderer, render
from augenmass.notify.renderthread import run_cpu
from augenmass.store.lease import Fenced
from augenmass.store.outbox import GroupDue, LogEntry, Outbox

log = logging.getLogger("augenmass.notify")

POLL_MAX = 1.0  # a pass at least this often while rows wait (clock jumps)
# With nothing pending only handle() adds rows, and it wakes the loop: a rare pass is enough
# (an idle server otherwise spends a query a second on an empty outbox).
POLL_IDLE = 60.0
ERROR_PAUSE = 5.0  # after a pass failed (store unavailable)
SEND_TIMEOUT = 120.0  # one message on one channel, whatever the channel's own timeouts say
MAX_PARALLEL = 16  # messages being sent at once
MAX_ENTRIES = 5000  # notifications in one message; more wait for the next one
MIN_GAP = 0.05  # between two passes, however often handle() wakes the loop
MAX_READS = 4  # groups whose rows are being read at once (each up to MAX_ENTRIES rows)


@dataclass
class NotifyStats:
    pending: int = 0
    sent: int = 0
    failed: int = 0
    retries: int = 0


def backoff(attempts: int, initial: float, maximum: float) -> float:
    return min(maximum, initial * 2.0 ** max(0, attempts - 1))


def checks_text(message: Message) -> str:
    names = [e.host if not e.service else f"{e.host}/{e.service}" for e in message.entries]
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


class Dispatcher:
    def __init__(
        self,
        outbox: Outbox,
        plan: Plan,
        clock: Clock,
        channel_factory: Callable[[Plan, str], Channel | None],
    ) -> None:
        self.outbox = outbox
        self.clock = clock
        self.stats = NotifyStats()
        self.wake = asyncio.Event()
        self._factory = channel_factory
        self._last_sent: dict[tuple[str, str], float] = {}
        self._sem = asyncio.Semaphore(MAX_PARALLEL)
        # Outcomes the store could not take (a full disk): kept here and written first on
        # every pass. Their rows are held back meanwhile: a mail that went out is not sent
        # again because its "sent" mark could not be written (not while this process lives),
        # and a failed one waits its backoff as if the mark had been written.
        self._unwritten: list[tuple[list[int], Callable[[], Awaitable[None]]]] = []
        self._held: dict[int, float] = {}  # outbox row id → not before (inf: sent)
        self._store_failing = False
        # failed attempts per channel since it last delivered: the first is logged as a
        # warning, the rest at debug, so a relay that is down is said once, not every retry
        self._failing: dict[str, int] = {}
        self._reads = asyncio.Semaphore(MAX_READS)
        # active/standby: False once this server's lease may have run out (checked right
        # before every send; the store refuses its marks anyway)
        self.may_send: Callable[[], bool] = lambda: True
        self.set_plan(plan)

    def set_plan(self, plan: Plan) -> None:
        self.plan = plan
        n = plan.notifications
        settings = plan.settings
        self.renderer = Renderer(
            n.templates_dir, settings.timezone, n.max_output, settings.base_url
        )
        self._channels: dict[str, Channel | None] = {}
        smtp = n.smtp
        sender = smtp.from_address if smtp is not None else "augenmass@localhost"
        self.domain = sender.rsplit("@", 1)[-1] or "localhost"

    def channel(self, name: str) -> Channel | None:
        if name not in self._channels:
            self._channels[name] = self._factory(self.plan, name)
        return self._channels[name]

    async def run(self) -> None:
        while True:
            try:
                delay = await self.pass_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("notification pass failed; retrying", extra={"error": repr(exc)})
                delay = ERROR_PAUSE
            await self._nap(delay)
            self.wake.clear()
            await self.clock.sleep(MIN_GAP)  # a storm of wake-ups makes one pass, not thousands

    async def _nap(self, seconds: float) -> None:
        """Until woken (new rows, a reload) or `seconds` have passed on the clock."""
        if self.wake.is_set():
            return
        waker = asyncio.ensure_future(self.wake.wait())
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait((waker, sleeper), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waker.cancel()
            sleeper.cancel()

    async def pass_once(self) -> float:
        """Send every group that is ready; the seconds until the next one may be."""
        await self._write_held()
        now = self.clock.now()
        groups = await self.outbox.groups()
        self.stats.pending = sum(g.count for g in groups)
        ready: list[GroupDue] = []
        next_at = now + (POLL_MAX if groups else POLL_IDLE)
        for group in groups:
            at = self._ready_at(group)
            if at <= now:
                ready.append(group)
            else:
                next_at = min(next_at, at)
        if ready:
            await asyncio.gather(*(self._deliver_group(g) for g in ready))
        return max(0.01, next_at - self.clock.now())

    def _ready_at(self, group: GroupDue) -> float:
        key = (group.contact, group.channel)
        in_backoff = group.backoff_due if group.backoff_due is not None else -math.inf
        interval = self._last_sent.get(key, -math.inf) + self.plan.notifications.group_interval
        return max(group.first_due, in_backoff, interval)

    async def _deliver_group(self, group: GroupDue) -> None:
        async with self._sem:
            async with self._reads:
                items = await self.outbox.pending_of(group.contact, group.channel, MAX_ENTRIES)
            if self._held:
                now = self.clock.now()
                items = [it for it in items if self._held.get(it.id, -math.inf) <= now]
            if items:
                await self._deliver(items)

    async def _deliver(self, items: list[Item]) -> None:
        contact = self.plan.contacts.get(items[0].contact)
        channel = self.channel(items[0].channel)
        if contact is None or channel is None:
            what = "contact" if contact is None else "channel"
            await self._failed(items, None, f"{what} no longer configured", permanent=True)
            return
        message = await self._message(items)
        try:
            await self.outbox.mark_attempting(list(message.item_ids), message.message_id)
        except Fenced:
            return  # another server is active now: it sends these rows
        except Exception as exc:  # the threading of a resend is worth less than this send
            self._write_failed("noting a Message-ID before the send", exc)
        if not self.may_send():
            return  # the lease may have run out while the rows were claimed: not ours to send
        marked = False  # the rows are marked sent (by the channel's confirmation)
        try:
            # a message of a thousand lines takes tens of ms to render: not on the event loop,
            # and in ONE worker thread (several would starve the loop of the GIL)
            rendered = await run_cpu(render, self.renderer, message, contact.name, contact.language)
            send_then = getattr(channel, "send_then", None)
            if send_then is not None:
                # the channel marks the rows sent the moment the receiver took them, before it
                # says goodbye: the shortest window for a kill -9 to make a duplicate
                async def confirmed() -> None:
                    nonlocal marked
                    marked = True
                    await self._sent(items, message, contact)

                sending = send_then(message, rendered, contact, confirmed)
            else:
                sending = channel.send(message, rendered, contact)
            # a bound on real waiting for a channel: on the loop's clock
            await asyncio.wait_for(sending, SEND_TIMEOUT)
        except SendError as exc:
            if not marked:
                await self._failed(items, message, exc.reason, permanent=not exc.retry)
            return
        except TimeoutError:
            if not marked:
                await self._failed(items, message, "timed out", permanent=False)
            return
        except Exception as exc:  # a channel bug must not kill the loop; retry bounded
            log.exception("channel error", extra={"channel": items[0].channel})
            if not marked:
                await self._failed(items, message, type(exc).__name__, permanent=False)
            return
        if not marked:
            await self._sent(items, message, contact)

    async def _message(self, items: list[Item]) -> Message:
        message = build_message(items, self.plan, self.domain)
        refs: list[str] = []
        for entry in message.entries:
            if entry.type == "RECOVERY" and entry.problem_state is None:
                ref = await self.outbox.thread_of(
                    message.contact, message.channel, entry.host, entry.service
                )
                if ref and ref not in refs:
                    refs.append(ref)
        # An earlier attempt of these rows may have reached the contact with other content:
        # this one answers it (the same content keeps its Message-ID and refers to nothing).
        for item in items:
            ref = item.message_id
            if ref and ref != message.message_id and ref not in refs:
                refs.append(ref)
        return replace(message, references=tuple(refs))

    async def _sent(self, items: list[Item], message: Message, contact: Contact) -> None:
        now = self.clock.now()
        ids = [it.id for it in items]
        text = checks_text(message)
        entry = LogEntry(now, contact.name, message.channel, items[0].type, text, len(ids), "sent")
        await self._mark(
            ids, math.inf, lambda: self.outbox.mark_sent(ids, message.message_id, now, entry)
        )
        self._last_sent[(message.contact, message.channel)] = now
        self.stats.sent += len(ids)
        failed = self._failing.pop(message.channel, 0)
        if failed:
            log.info(
                "channel delivers again",
                extra={"channel": message.channel, "failed_attempts": failed},
            )
        log.info(
            "notification sent",
            extra={
                "contact": contact.name,
                "channel": message.channel,
                "type": items[0].type,
                "notifications": len(ids),
                "checks": text,
            },
        )

    async def _mark(
        self, ids: list[int], hold: float, write: Callable[[], Awaitable[None]]
    ) -> None:
        """Write an outcome; if the store cannot take it, hold the rows and keep the write."""
        if not self._unwritten:
            try:
                await write()
                return
            except Exception as exc:
                self._write_failed("marking what was sent", exc)
        for row in ids:
            self._held[row] = hold
        self._unwritten.append((ids, write))

    async def _write_held(self) -> None:
        """The outcomes the store could not take, in order, until one fails again."""
        while self._unwritten:
            ids, write = self._unwritten[0]
            try:
                await write()
            except Exception as exc:
                self._write_failed("marking what was sent", exc)
                return
            self._unwritten.pop(0)
            for row in ids:
                self._held.pop(row, None)
        if self._store_failing:
            self._store_failing = False
            log.warning("the outbox can be written again; held outcomes are recorded")

    def _write_failed(self, what: str, exc: Exception) -> None:
        if not self._store_failing:  # once per outage, not once per message
            self._store_failing = True
            log.error(
                "outbox write failed; sending goes on, outcomes are held in memory",
                extra={"while": what, "error": repr(exc)[:300]},
            )

    async def _failed(
        self, items: list[Item], message: Message | None, reason: str, *, permanent: bool
    ) -> None:
        now = self.clock.now()
        n = self.plan.notifications
        attempts = max(it.attempts for it in items) + 1
        limit = n.permanent_attempts if permanent else n.max_attempts
        give_up = attempts >= limit
        due = None if give_up else now + backoff(attempts, n.retry_initial, n.retry_max)
        ids = [it.id for it in items]
        result = "failed" if give_up else "retry"
        text = checks_text(message) if message else f"{len(ids)} notifications"
        first = items[0]
        entry = LogEntry(now, first.contact, first.channel, first.type, text, len(ids), result)
        detailed = replace(entry, detail=reason)
        await self._mark(
            ids,
            math.inf if due is None else due,
            lambda: self.outbox.mark_attempt(ids, reason, due, detailed),
        )
        if give_up:
            self.stats.failed += len(ids)
        else:
            self.stats.retries += 1
        fields: dict[str, object] = {
            "contact": first.contact,
            "channel": first.channel,
            "attempt": attempts,
            "notifications": len(ids),
            "error": reason,
        }
        failures = self._failing[first.channel] = self._failing.get(first.channel, 0) + 1
        if give_up:
            log.error("notification FAILED, giving up", extra=fields)
        elif failures == 1:
            fields["retry_in"] = round((due or now) - now, 1)
            fields["note"] = "further failures of this channel are logged at debug level"
            log.warning("notification not delivered; will retry", extra=fields)
        else:
            fields["retry_in"] = round((due or now) - now, 1)
            log.debug("notification not delivered; will retry", extra=fields)
