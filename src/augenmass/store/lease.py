"""The active server's lease and fencing token in a shared PostgreSQL store.

One row (`cluster_lease`): the holder node, a fencing token counted up at every takeover, and
the expiry in the DATABASE's clock (`now()`), so the servers' own clocks never matter. The
active server renews it; a standby takes it once it has expired. Every write that matters from
the active server (state batches, outbox claims, backoffs) runs `Fence.check` in its own
transaction: it reads the row FOR SHARE, so a takeover waits for a write in progress and a
write after a takeover sees the new token and is refused (`Fenced`) — a server that lost the
lease cannot commit anything, however late it wakes up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from augenmass.core.errors import StoreError
from augenmass.store.aio import AsyncEngine
from augenmass.store.cluster_schema import LEASE_ID, cluster_lease

log = logging.getLogger("augenmass.cluster")

# How long a takeover waits for a write holding the row: longer, and the write belongs to a
# server whose lease has expired (paused mid-transaction): its connection is ended.
TAKEOVER_LOCK_WAIT = "500ms"

_FIRST = sa.text(
    "INSERT INTO cluster_lease (id, holder, token, expires, since)"
    " VALUES (:id, '', 0, to_timestamp(0), now()) ON CONFLICT (id) DO NOTHING"
)
_EXISTS = sa.text("SELECT 1 FROM cluster_lease WHERE id = :id")
_TAKE = sa.text(
    "UPDATE cluster_lease SET holder = :node, token = token + 1,"
    " expires = now() + make_interval(secs => :ttl), since = now()"
    " WHERE id = :id AND (expires <= now() OR holder = :node) RETURNING token"
)
_RENEW = sa.text(
    "UPDATE cluster_lease SET expires = now() + make_interval(secs => :ttl)"
    " WHERE id = :id AND token = :token AND holder = :node AND expires > now() RETURNING token"
)
_RELEASE = sa.text(
    "UPDATE cluster_lease SET expires = now() - interval '1 second'"
    " WHERE id = :id AND token = :token AND holder = :node"
)
_VIEW = sa.text(
    "SELECT holder, token, extract(epoch FROM since), expires > now(),"
    " extract(epoch FROM expires - now()) FROM cluster_lease WHERE id = :id"
)
_EXPIRED = sa.text("SELECT expires <= now() FROM cluster_lease WHERE id = :id")
# The sessions holding the lease row of an expired holder (a paused server's open write).
_HOLDERS = sa.text(
    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l"
    " WHERE l.relation = 'cluster_lease'::regclass AND l.granted"
    " AND l.pid <> pg_backend_pid()"
)


class Fenced(StoreError):
    """This server's fencing token is no longer the lease's: another server is active."""


@dataclass(frozen=True, slots=True)
class LeaseView:
    holder: str  # '' before any server held it
    token: int
    since: float  # epoch seconds of the holder's takeover
    valid: bool  # not expired
    expires_in: float  # seconds (negative: expired that long ago)


class Fence:
    """The token a store's writes must carry (None: no lease, one box: nothing is checked)."""

    def __init__(self) -> None:
        self.token: int | None = None

    async def check(self, conn: Any) -> None:
        """In the caller's transaction: refuse it unless our token is still the lease's."""
        token = self.token
        if token is None:
            return
        q = (
            sa.select(cluster_lease.c.token)
            .where(cluster_lease.c.id == LEASE_ID)
            .with_for_update(read=True)
        )
        found = await conn.scalar(q)
        if found != token:
            raise Fenced(f"fencing token {token} is stale (the lease's is {found})")


class Lease:
    """Take, renew, release and read the lease (PostgreSQL only). Node names must be unique."""

    def __init__(self, engine: AsyncEngine, node: str, ttl: float) -> None:
        self._engine = engine
        self.node = node
        self.ttl = ttl
        self._row = False  # the lease row is known to exist

    async def acquire(self) -> int | None:
        """Take the lease if it has expired (or was never held), or if it is our own node's:
        the new token, or None. Our own: a previous process of this node (killed, restarted;
        node names are unique, and the data directory's lock allows one process per node)
        or this process after stepping down; nobody else acted meanwhile, so it need not wait
        for the expiry (a single server on PostgreSQL restarts without a ttl's pause)."""
        try:
            if not self._row:
                await self._first_row()
            async with self._engine.begin() as conn:
                # a write of the holder has the row FOR SHARE: wait for it, bounded
                await conn.execute(sa.text(f"SET LOCAL lock_timeout = '{TAKEOVER_LOCK_WAIT}'"))
                params = {"id": LEASE_ID, "node": self.node, "ttl": self.ttl}
                row = (await conn.execute(_TAKE, params)).first()
        except sa.exc.DBAPIError as exc:
            if "lock" not in str(exc).lower():
                raise
            await self._end_expired_writes()
            return None
        return None if row is None else int(row[0])

    async def _first_row(self) -> None:
        """Make sure the lease row exists. Looked up first: an INSERT ... ON CONFLICT waits for
        any open transaction that changed the row (a holder cut off mid-renewal: for ever)."""
        async with self._engine.begin() as conn:
            await conn.execute(sa.text(f"SET LOCAL lock_timeout = '{TAKEOVER_LOCK_WAIT}'"))
            if await conn.scalar(_EXISTS, {"id": LEASE_ID}) is None:
                await conn.execute(_FIRST, {"id": LEASE_ID})
        self._row = True

    async def _end_expired_writes(self) -> None:
        """A write holds the row for longer than a takeover waits. If the lease has expired,
        that write belongs to a server that lost it (paused mid-transaction): end its
        sessions, so it can commit nothing, and take the lease at the next try."""
        async with self._engine.begin() as conn:
            if not await conn.scalar(_EXPIRED, {"id": LEASE_ID}):
                return  # the active server's write, still in time: not ours to end
            ended = len((await conn.execute(_HOLDERS)).all())
        log.warning(
            "the expired lease was held by an open write; ended its sessions",
            extra={"sessions": ended},
        )

    async def renew(self, token: int) -> bool:
        """Extend our lease by ttl from now (database clock); False: it is not ours any more."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    _RENEW, {"id": LEASE_ID, "node": self.node, "ttl": self.ttl, "token": token}
                )
            ).first()
        return row is not None

    async def release(self, token: int) -> None:
        """Let the lease expire now (a clean stop): a standby takes over at its next try."""
        async with self._engine.begin() as conn:
            await conn.execute(_RELEASE, {"id": LEASE_ID, "node": self.node, "token": token})

    async def view(self) -> LeaseView | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_VIEW, {"id": LEASE_ID})).first()
            await conn.rollback()
        if row is None:
            return None
        return LeaseView(str(row[0]), int(row[1]), float(row[2]), bool(row[3]), float(row[4]))


class _Store(Protocol):  # store.Store (which imports this module)
    @property
    def dialect(self) -> str: ...

    @property
    def engine(self) -> AsyncEngine: ...


async def read_lease(store: _Store) -> LeaseView | None:
    """The lease as it stands (None: SQLite, or no server ever held it)."""
    if store.dialect != "postgresql":
        return None
    view = await Lease(store.engine, "", 0).view()
    return view if view is not None and view.holder else None
