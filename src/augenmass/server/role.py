"""Active or standby: the part this server plays on a shared PostgreSQL store.

On SQLite there is no lease: the server is `single` and always acts. On PostgreSQL a server
takes the lease at start if it is free (or its own node's), else it stands by and tries again
(store/lease.py); the one holding it is active:
it schedules, evaluates and notifies. The active server renews every `lease.renew` seconds and
stops acting on its own, by its monotonic clock, `lease.renew` seconds BEFORE its lease can
have expired for the others (a renewal that failed or hangs: PostgreSQL unreachable, the
process paused), so two servers never act at once; whatever it still tries to write after that
is refused by the database (the fencing token). A standby serves the UI and the API from the
store as committed (read anew every few seconds) and passes operator actions on to the active
server through the store (`cluster_command`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from augenmass.cluster.bounded import bounded
from augenmass.core.plan import LeaseSettings
from augenmass.store.lease import Lease, LeaseView

log = logging.getLogger("augenmass.cluster")

SINGLE, ACTIVE, STANDBY = "single", "active", "standby"
REFRESH_SECONDS = 2.0  # a standby reads the states as committed this often


def default_node(data_dir: Path) -> str:
    """The host name and the data directory: unique per server process on a machine."""
    return f"{socket.gethostname()}:{data_dir.resolve()}"


class Role:
    def __init__(
        self,
        node: str,
        lease: Lease | None,
        settings: LeaseSettings,
        activate: Callable[[int], Coroutine[Any, Any, None]],
        step_down: Callable[[], None],
        refresh: Callable[[], Awaitable[None]],
    ) -> None:
        self.node = node
        self.lease = lease
        self.settings = settings
        self.state = SINGLE if lease is None else STANDBY
        self.token: int | None = None
        self.view: LeaseView | None = None  # the lease as last read (who is active, since)
        self._activate = activate
        self._step_down = step_down
        self._refresh = refresh
        self._deadline = 0.0  # loop time after which an active server stops acting
        self._timer: asyncio.TimerHandle | None = None
        self._activation: asyncio.Task[None] | None = None
        self._refreshed = -REFRESH_SECONDS
        self._failing = False  # the last lease round failed (said once per outage)

    # --- what others ask ---------------------------------------------------------------------
    @property
    def standby(self) -> bool:
        return self.state == STANDBY

    def may_act(self) -> bool:
        """True while this server may schedule, write and send (checked before each send)."""
        if self.state == SINGLE:
            return True
        return self.state == ACTIVE and asyncio.get_running_loop().time() < self._deadline

    @property
    def active_node(self) -> str | None:
        if self.state in (SINGLE, ACTIVE):
            return self.node
        view = self.view
        return view.holder if view is not None and view.valid and view.holder else None

    # --- the loop ----------------------------------------------------------------------------
    async def take_at_start(self) -> None:
        """One try before the server starts its loops: active at once when the lease is free
        or our own node's (a restart), without a standby's wait. The caller starts acting."""
        assert self.lease is not None
        began = asyncio.get_running_loop().time()
        try:
            token = await self.lease.acquire()
            self.view = await bounded(self.lease.view(), self.settings.ttl)
        except Exception as exc:  # PostgreSQL unreachable: the loop tries again
            log.error("lease round failed", extra={"role": self.state, "error": repr(exc)[:300]})
            self._failing = True
            return
        if token is None:
            return
        self.token = token
        self.state = ACTIVE
        self._arm(began)
        log.warning("ACTIVE: took the lease", extra=self._fields())

    async def run(self) -> None:
        """Renew or try to take the lease, every `renew` seconds (a standby: twice as often)."""
        assert self.lease is not None
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            try:
                if self.state == ACTIVE:
                    await self._renew(began)
                else:
                    await self._try_take(began)
                if self._failing:
                    self._failing = False
                    log.warning("the lease can be read and written again", extra=self._fields())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # PostgreSQL unreachable: the deadline decides
                if not self._failing:  # once per outage, not every round
                    self._failing = True
                    log.error(
                        "lease round failed",
                        extra={"role": self.state, "error": repr(exc)[:300]},
                    )
            pause = self.settings.renew if self.state == ACTIVE else self.settings.renew / 2
            await asyncio.sleep(max(0.0, began + pause - loop.time()))

    async def _renew(self, began: float) -> None:
        assert self.lease is not None and self.token is not None
        left = self._deadline - began
        if left <= 0:
            self._expired()
            return
        try:
            # not asyncio.wait_for: it waits for the cancelled call, whose rollback on a link
            # that went silent never ends, and this loop would never try again after it heals
            ours = await bounded(self.lease.renew(self.token), left)
        except TimeoutError:
            return  # the timer steps down at the deadline
        if self.state != ACTIVE:
            return
        if not ours:
            log.error("LEASE LOST: another server holds it; stepping down", extra=self._fields())
            self._to_standby()
            return
        self._arm(began)
        await self._read_view()

    async def _try_take(self, began: float) -> None:
        assert self.lease is not None
        token = await bounded(self.lease.acquire(), self.settings.ttl)
        if token is None:
            await self._read_view()
            now = asyncio.get_running_loop().time()
            if now - self._refreshed >= REFRESH_SECONDS:
                self._refreshed = now
                await self._refresh()
            return
        self.token = token
        self.state = ACTIVE
        self._arm(began)
        if asyncio.get_running_loop().time() >= self._deadline:
            self._expired()  # the answer came too late to act on this lease
            return
        # before any other await: the deadline's timer may step down meanwhile
        log.warning("ACTIVE: took the lease", extra=self._fields())
        self._activation = asyncio.create_task(self._activate(token), name="activate")
        self._activation.add_done_callback(self._activated)
        await self._read_view()

    def _activated(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and self.state == ACTIVE:
            log.error("activation failed; stepping down", extra={"error": repr(exc)})
            self._to_standby()

    def _arm(self, began: float) -> None:
        """The lease runs `ttl` from a moment after `began` in the database's clock: stop
        acting `renew` seconds before that (the next renewal had that long to come)."""
        self._deadline = began + self.settings.ttl - self.settings.renew
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(self._deadline, self._expired)

    def _expired(self) -> None:
        if self.state == ACTIVE:
            log.error(
                "LEASE NOT RENEWED in time: stepping down before it can expire",
                extra=self._fields(),
            )
            self._to_standby()

    def _to_standby(self) -> None:
        self.state = STANDBY
        self._refreshed = -REFRESH_SECONDS
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._activation is not None and not self._activation.done():
            self._activation.cancel()
        self._step_down()

    async def _read_view(self) -> None:
        assert self.lease is not None
        self.view = await self.lease.view()

    async def release(self) -> None:
        """A clean stop of the active server: the standby need not wait out the ttl."""
        if self.lease is None or self.token is None or self.state != ACTIVE:
            return
        self.state = STANDBY
        with contextlib.suppress(Exception):
            await bounded(self.lease.release(self.token), 5)

    def _fields(self) -> dict[str, object]:
        return {"node": self.node, "token": self.token}

    def health(self) -> dict[str, object]:
        view = self.view
        return {
            "role": self.state,
            "node": self.node,
            "active_node": self.active_node,
            "token": view.token if view is not None and self.state != SINGLE else None,
            "active_since": view.since if view is not None and view.valid else None,
        }
