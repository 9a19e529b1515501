"""Issue 17: the memo of prepared options holds every check in use, however many there are.

With a fixed 4,096 entries, 10,000 distinct http checks run round and round missed on every
run (each miss: the options validated again, the request built again). The runner (and a probe
worker) size the memos for the checks they run; a memo also grows by itself when what it evicted
comes back. Counted, not timed."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
import uvloop

from augenmass.core.plan import CheckSpec
from augenmass.core.values import CheckJob, CheckKey
from augenmass.probes import http
from augenmass.probes.base import CRITICAL, OptionsMemo
from augenmass.runner import Runner

CHECKS = 10_000
RUNNER_CHECKS = 5_000  # more than the 4,096 of before; fewer runs keep the test short


def _options(i: int) -> dict[str, Any]:
    # what a real configuration has: its own URL, timeout, expected text and header per check;
    # 169.254.0.0/16 is refused by the address policy after the options are prepared, so a
    # run touches no network and still goes through the whole probe
    return {
        "url": f"http://169.254.7.{i % 250}/s/{i}?x={i * 7919 % 100_003}",
        "contains": f"ok /s/{i}",
        "headers": {"X-Bench-Service": f"svc-{i}"},
        "warning": str(2 + i % 7),
        "timeout": 3 + (i % 40) / 10,
    }


def test_a_memo_grows_to_the_checks_that_come_round_again() -> None:
    memo: OptionsMemo[int] = OptionsMemo(size=4096)
    options = [MappingProxyType(_options(i)) for i in range(CHECKS)]
    builds_per_round = []
    for _ in range(6):
        before = memo.builds
        for i, opts in enumerate(options):
            assert memo.get(opts, lambda i=i: i) == i  # type: ignore[misc]
        builds_per_round.append(memo.builds - before)
    assert builds_per_round[0] == CHECKS
    assert builds_per_round[-2:] == [0, 0], builds_per_round  # every run a hit
    assert sum(builds_per_round) < 2 * CHECKS  # few rounds of misses, not one per run
    assert memo.size == CHECKS and len(memo) == CHECKS  # the checks in use, no more


def test_contents_seen_once_do_not_grow_it() -> None:
    """A reload that changes every check: the old contents never come back, so the memo evicts
    them and stays at its size."""
    memo: OptionsMemo[int] = OptionsMemo(size=100)
    for i in range(1000):
        memo.get({"url": f"http://127.0.0.1/{i}"}, lambda: 0)
    assert memo.size == 100 and len(memo) == 100


def test_growth_stops_at_max_size() -> None:
    memo: OptionsMemo[int] = OptionsMemo(size=10, max_size=40)
    for _ in range(4):
        for i in range(50):
            memo.get({"n": i}, lambda: 0)
    assert memo.size == 40 and len(memo) <= 40


def test_thousands_of_distinct_http_checks_keep_hitting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the runner, as in the server (each check its own spec; on uvloop, once: the memo
    does not depend on the loop): the runner sizes the memo for the checks it runs, so from the
    second round on no run prepares its options again."""
    memo: OptionsMemo[Any] = OptionsMemo()  # the default the probe module uses
    monkeypatch.setattr(http, "_PREPARED", memo)
    prepared: list[int] = []
    real = http._prepare
    monkeypatch.setattr(http, "_prepare", lambda o: prepared.append(1) or real(o))
    jobs = [
        CheckJob(CheckKey(f"h{i // 10}", f"web{i % 10}"), CheckSpec("http", (), _options(i)), {})
        for i in range(RUNNER_CHECKS)
    ]

    async def rounds() -> list[int]:
        runner = Runner([])
        per_round = []
        for _ in range(2):
            before = len(prepared)
            for j in jobs:
                got = await runner.run(j)
                assert got.status == CRITICAL and "link-local" in got.output
            per_round.append(len(prepared) - before)
        return per_round

    assert uvloop.run(rounds()) == [RUNNER_CHECKS, 0]
    assert memo.size >= RUNNER_CHECKS and len(memo) == RUNNER_CHECKS


def test_equal_contents_share_an_entry_and_a_hash_collision_never_mixes_them() -> None:
    """Entries are found by the hash of the content and then compared: a view given by the
    runner and a plain dict (a probe worker's) with equal content share one build; two contents
    with the same hash (in CPython hash(-1) == hash(-2)) each get their own value."""
    memo: OptionsMemo[str] = OptionsMemo(size=16)
    a = {"url": "http://127.0.0.1/", "port": -1}
    b = {"url": "http://127.0.0.1/", "port": -2}
    assert hash(tuple(a.values())) == hash(tuple(b.values()))  # the premise
    assert memo.get(MappingProxyType(a), lambda: "a") == "a"
    assert memo.get(dict(a), lambda: "rebuilt") == "a"  # equal content, a plain dict
    assert memo.get(MappingProxyType(b), lambda: "b") == "b"
    assert memo.get(dict(b), lambda: "rebuilt b") == "b"
    assert memo.get(dict(a), lambda: "a again") == "a again"  # never b's
    assert memo.get({"port": 1}, lambda: "one") == "one"
    assert memo.get({"port": True}, lambda: "true") == "true"  # equal to 1, not the same option
    assert memo.builds == 5
