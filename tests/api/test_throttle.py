"""The login throttle's bookkeeping: addresses only as keyed digests, short-lived, bounded."""

from __future__ import annotations

import asyncio

from augenmass.api.gate import PriorityGate
from augenmass.api.throttle import LoginThrottle, Refusal, Ticket


def test_sources_are_keyed_digests_not_addresses() -> None:
    a, b = LoginThrottle(), LoginThrottle()
    key = a.source_key("192.0.2.7")
    assert b"192.0.2.7" not in key and len(key) == 16
    assert key != b.source_key("192.0.2.7")  # another process start, another key
    assert a.source_key("192.0.2.7") == key == a.source_key("::ffff:192.0.2.7")
    # one IPv6 subscriber (a /64) is one source, however many addresses it uses
    assert a.source_key("2001:db8:1:2::1") == a.source_key("2001:db8:1:2:ffff::9")
    assert a.source_key("2001:db8:1:2::1") != a.source_key("2001:db8:1:3::1")


def test_source_entries_die_after_the_window_and_the_table_is_bounded() -> None:
    t = LoginThrottle(source_failures=5, source_window=60, max_sources=100)
    for i in range(150):
        assert isinstance(t.admit(f"n{i}", t.source_key(f"10.0.{i // 250}.{i % 250}"), 0.0), Ticket)
    assert t.tracked_sources() == 100  # least recently used went first
    t.admit("late", t.source_key("10.9.9.9"), 61.0)
    assert t.tracked_sources() == 1  # everything older than the window is gone


def test_admission_charges_before_the_password_is_checked() -> None:
    t = LoginThrottle(free_failures=3)
    src = t.source_key("192.0.2.1")
    # 20 attempts arrive before any answer: only 3 may go on to the password check
    answers = [t.admit("ada", src, 100.0) for _ in range(20)]
    tickets = [a for a in answers if isinstance(a, Ticket)]
    refusals = [a for a in answers if isinstance(a, Refusal)]
    assert len(tickets) == 3 and {r.reason for r in refusals} == {"throttled"}
    assert [r.first for r in refusals].count(True) == 1  # one log line per lock
    t.succeeded(tickets[0])  # a right password refunds: the account is free again
    assert isinstance(t.admit("ada", src, 100.0), Ticket)


def test_a_source_over_its_limit_drains_back() -> None:
    t = LoginThrottle(source_failures=2, source_window=20)
    src = t.source_key("192.0.2.1")
    assert isinstance(t.admit("a", src, 0.0), Ticket)
    assert isinstance(t.admit("b", src, 0.0), Ticket)
    refused = t.admit("c", src, 0.0)
    assert isinstance(refused, Refusal) and refused.reason == "source_limit"
    assert 9 <= refused.retry_after <= 10  # one failure drains every 10 s
    assert isinstance(t.admit("c", src, 10.0), Ticket)


def test_a_source_with_failures_waits_behind_a_clean_one() -> None:
    t = LoginThrottle()
    sprayer, user = t.source_key("192.0.2.1"), t.source_key("192.0.2.2")
    tickets = [t.admit(f"n{i}", sprayer, 0.0) for i in range(5)]
    clean = t.admit("ada", user, 0.0)
    assert isinstance(clean, Ticket) and clean.priority == 0
    assert [x.priority for x in tickets if isinstance(x, Ticket)] == [0, 1, 2, 3, 4]


async def test_password_checks_queue_clean_sources_first() -> None:
    gate = PriorityGate(1)
    order: list[str] = []

    async def check(who: str, priority: float) -> None:
        async with gate.slot(priority):
            order.append(who)
            await asyncio.sleep(0)

    async with gate.slot(0):  # one check runs; a spray queues behind it, then a clean login
        spray = [asyncio.create_task(check(f"spray{i}", 5 + i)) for i in range(5)]
        gone = asyncio.create_task(check("gone", 0))  # a client that disconnects while waiting
        clean = asyncio.create_task(check("user", 0))
        await asyncio.sleep(0)
        gone.cancel()
    await asyncio.wait_for(asyncio.gather(*spray, clean), 5)
    assert order == ["user", "spray0", "spray1", "spray2", "spray3", "spray4"]
    async with asyncio.timeout(1):  # the cancelled waiter took no slot with it
        async with gate.slot(0):
            pass


def test_an_account_quiet_for_longer_than_the_longest_lock_starts_afresh() -> None:
    t = LoginThrottle(free_failures=1, base_delay=10, max_lock=100)
    src = t.source_key("192.0.2.1")
    for at in (0.0, 10.0, 30.0):  # each attempt right when the last lock ends: 10, 20, 40 s
        assert isinstance(t.admit("ada", src, at), Ticket)
    refused = t.admit("ada", src, 69.0)
    assert isinstance(refused, Refusal) and refused.retry_after == 1.0
    assert isinstance(t.admit("ada", src, 70.0 + 101), Ticket)  # quiet: 10 s lock, not 80
    again = t.admit("ada", src, 172.0)
    assert isinstance(again, Refusal) and again.retry_after == 9.0
