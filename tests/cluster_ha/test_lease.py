"""The lease and its fencing token on a real PostgreSQL: one holder, takeover only after expiry,
and a store write with a stale token is refused by the database."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
import sqlalchemy as sa

from augenmass.core.values import CheckKey, CheckState
from augenmass.store import Store, WriteBatch
from augenmass.store.lease import Fenced, Lease

pytestmark = pytest.mark.postgres

KEY = CheckKey("db", "replication")


async def _until_taken(lease: Lease, bound: float) -> int:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        token = await lease.acquire()
        if token is not None:
            return token
        await asyncio.sleep(0.05)
    raise AssertionError(f"{lease.node} did not take the lease within {bound} s")


async def test_one_holder_and_takeover_only_after_expiry(store: Store) -> None:
    a = Lease(store.engine, "node-a", ttl=0.6)
    b = Lease(store.engine, "node-b", ttl=0.6)
    first = await a.acquire()
    assert first == 1
    assert await b.acquire() is None  # held and not expired
    assert await a.renew(first)
    view = await b.view()
    assert view is not None and (view.holder, view.token, view.valid) == ("node-a", 1, True)
    began = time.monotonic()
    second = await _until_taken(b, 5)
    # not before the ttl ran out after a's last renewal (the database's clock decides)
    assert time.monotonic() - began >= 0.4
    assert second == first + 1
    assert not await a.renew(first), "the old holder must not renew a lease taken over"
    view = await a.view()
    assert view is not None and (view.holder, view.token) == ("node-b", 2)


async def test_a_write_with_a_stale_token_is_refused_and_changes_nothing(store: Store) -> None:
    a = Lease(store.engine, "node-a", ttl=0.3)
    b = Lease(store.engine, "node-b", ttl=5)
    token = await a.acquire()
    assert token is not None
    store.fence.token = token
    await store.write(WriteBatch(states=[CheckState(key=KEY, state=0)]))
    await _until_taken(b, 5)
    with pytest.raises(Fenced):
        await store.write(WriteBatch(states=[CheckState(key=KEY, state=2)]))
    store.fence.token = None  # a reader without a lease
    assert (await store.load()).states[KEY].state == 0


async def test_a_release_lets_the_standby_take_over_at_once(store: Store) -> None:
    a = Lease(store.engine, "node-a", ttl=30)
    b = Lease(store.engine, "node-b", ttl=30)
    token = await a.acquire()
    assert token is not None
    assert await b.acquire() is None
    await a.release(token)
    assert await b.acquire() == token + 1


async def test_a_restarted_node_retakes_its_own_lease_at_once(store: Store) -> None:
    old = Lease(store.engine, "node-a", ttl=30)
    token = await old.acquire()
    assert token is not None
    # the same node after a restart (a new process): no expiry to wait for, a new token
    assert await Lease(store.engine, "node-a", ttl=30).acquire() == token + 1
    assert not await old.renew(token)  # what the old process still tries is refused
    assert await Lease(store.engine, "node-b", ttl=30).acquire() is None


async def test_a_new_standby_takes_over_from_a_holder_cut_off_mid_renewal(store: Store) -> None:
    """The holder's renewal reached PostgreSQL, its commit never did (a partition): its
    transaction stays open and holds the row. A standby that starts now (its first try ever)
    must not wait for that transaction: it takes the lease once the lease has expired."""
    a = Lease(store.engine, "node-a", ttl=0.3)
    token = await a.acquire()
    assert token is not None
    cut_off = await store.engine.connect()
    await cut_off.begin()
    await cut_off.execute(
        sa.text("UPDATE cluster_lease SET expires = expires WHERE holder = 'node-a'")
    )  # row locked, never committed while the standby tries
    b = Lease(store.engine, "node-b", ttl=5)
    assert await asyncio.wait_for(_until_taken(b, 5), 10) == token + 1
    # the cut-off holder's session was ended: what it still sends commits nothing
    with pytest.raises(sa.exc.DBAPIError):
        await cut_off.commit()
    with contextlib.suppress(Exception):
        await cut_off.close()
