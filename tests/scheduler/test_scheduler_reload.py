"""set_jobs reloads, and passive-only keys with forced freshness checks."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from fakeclock import FakeClock
from sched_helpers import SPEC, Harness, MakeHarness, jobs_of, template

from augenmass.core.values import CheckKey
from augenmass.scheduler import JobTemplate

T0 = 1_000.0
W0 = 1_700_000_000.0


async def test_reload_keeps_phases_spreads_new_keys_and_drops_gone_keys(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    kept, gone = template("kept", interval=60.0), template("gone", interval=60.0)
    harness = await make_harness(jobs_of([kept, gone]), max_spread=30.0)
    await clock.advance(100.0)
    kept_next = harness.sched.next_check(kept.key)
    new = [template(f"new{i}", interval=60.0) for i in range(20)]
    harness.sched.set_jobs(jobs_of([kept, *new]))
    assert harness.sched.next_check(kept.key) == kept_next
    assert harness.sched.next_check(gone.key) is None
    starts_before = len(harness.starts)
    await clock.advance(120.0)
    later = harness.starts[starts_before:]
    assert gone.key not in {job.key for _, job in later}
    firsts = [harness.starts_of(t.key)[0] - (T0 + 100) for t in new]
    assert all(0.0 <= d < 30.0 for d in firsts) and len(set(firsts)) == 20
    assert len(harness.starts_of(kept.key)) == 4  # phase unchanged: every 60 s


async def test_reload_with_shorter_interval_folds_the_remaining_wait(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    job = template("a", interval=300.0)
    harness = await make_harness(jobs_of([job]), max_spread=0.0)
    await clock.advance(10.0)  # ran at T0, next due at T0 + 300: 290 s left
    harness.sched.set_jobs(jobs_of([template("a", interval=60.0)]))
    assert harness.sched.next_check(job.key) == pytest.approx(W0 + 10 + 290 % 60)
    harness.sched.set_jobs(jobs_of([template("a", interval=600.0)]))  # longer: due time kept
    assert harness.sched.next_check(job.key) == pytest.approx(W0 + 10 + 290 % 60)


async def test_running_check_of_a_removed_key_reports_but_is_not_rescheduled(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    job = template("a", interval=10.0)
    harness = await make_harness(jobs_of([job]), max_spread=0.0)
    harness.gate = asyncio.Event()
    await clock.advance(10.0)
    assert harness.in_flight == 1
    harness.sched.set_jobs({})
    harness.gate.set()
    await clock.advance(50.0)
    assert [r.key for r in harness.results] == [job.key, job.key]
    assert harness.starts_of(job.key) == [T0, T0 + 10]
    assert harness.sched.next_check(job.key) is None


async def test_reload_while_running_uses_the_new_template(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    job = template("a", interval=10.0)
    harness = await make_harness(jobs_of([job]), max_spread=0.0, run_time=2.0)
    await clock.advance(1.0)
    harness.sched.set_jobs(jobs_of([template("a", interval=30.0)]))
    await clock.advance(60.0)
    assert harness.starts_of(job.key) == [T0, T0 + 30, T0 + 60]


def test_template_key_must_match_its_mapping_key(clock: FakeClock) -> None:
    harness = Harness(clock)
    with pytest.raises(ValueError, match="h/b"):
        harness.sched.set_jobs({CheckKey("h", "b"): template("a")})
    assert harness.sched.stats.jobs == 0  # nothing half-loaded


def passive(name: str, threshold: float | None) -> JobTemplate:
    return template(name, interval=60.0, active=False, freshness_threshold=threshold)


async def test_passive_key_gets_a_forced_check_when_results_go_stale(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    fresh = passive("fresh", 600.0)
    harness = await make_harness(jobs_of([fresh, passive("never", None)]))
    await clock.advance(599.0)
    assert harness.starts == []
    await clock.advance(1.0)
    assert harness.starts_of(fresh.key) == [T0 + 600]
    await clock.advance(700.0)
    assert harness.starts_of(fresh.key) == [T0 + 600, T0 + 1200]
    await clock.advance(10_000.0)
    assert {job.key for _, job in harness.starts} == {fresh.key}  # no threshold: never runs


async def test_note_passive_pushes_the_forced_check_back(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    fresh, active = passive("fresh", 600.0), template("active", interval=100.0)
    harness = await make_harness(jobs_of([fresh, active]), max_spread=0.0)
    await clock.advance(500.0)
    harness.sched.note_passive(fresh.key)  # a result at T0 + 500
    harness.sched.note_passive(active.key)  # no effect on active checks
    await clock.advance(500.0)
    assert harness.starts_of(fresh.key) == []
    harness.sched.note_passive(fresh.key, at_monotonic=T0 + 900)  # late report of an older result
    await clock.advance(600.0)
    assert harness.starts_of(fresh.key) == [T0 + 1500]
    assert len(harness.starts_of(active.key)) == 17  # T0, T0+100, ..., T0+1600


async def test_check_now_forces_a_passive_only_check(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    never = passive("never", None)
    harness = await make_harness(jobs_of([never]))
    await clock.advance(5.0)
    assert harness.sched.check_now(never.key) is True
    await clock.advance(1000.0)
    assert harness.starts_of(never.key) == [T0 + 5]


@pytest.mark.parametrize("bad", [0.0, -5.0, float("nan"), float("inf")])
def test_template_rejects_unusable_durations(bad: float) -> None:
    key = CheckKey("web1", "http")
    with pytest.raises(ValueError, match="web1/http: check interval"):
        JobTemplate(key=key, check=SPEC, macros={}, interval=bad)
    with pytest.raises(ValueError, match="web1/http: freshness threshold"):
        JobTemplate(key=key, check=SPEC, macros={}, interval=60.0, freshness_threshold=bad)


async def test_passive_result_during_a_forced_check_counts_for_the_next_one(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    fresh = passive("fresh", 600.0)
    harness = await make_harness(jobs_of([fresh]), run_time=50.0)
    await clock.advance(620.0)  # the forced check started at T0 + 600 and is still running
    harness.sched.note_passive(fresh.key)
    await clock.advance(700.0)
    assert harness.starts_of(fresh.key) == [T0 + 600, T0 + 1220]


async def test_sliced_reload_places_like_a_whole_one(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    old = [template(f"k{i}", interval=60.0) for i in range(10)]
    harness = await make_harness(jobs_of(old), max_spread=30.0)
    await clock.advance(100.0)
    before = {t.key: harness.sched.next_check(t.key) for t in old}
    new = [template(f"k{i}", interval=60.0) for i in range(5, 15)]  # 5 gone, 5 kept, 5 new
    steps = harness.sched.set_jobs_steps(jobs_of(new), chunk=3)
    # 10 keys in slices of 3: checked in 4 (nothing changes before all are), then placed in 4
    assert sum(1 for _ in steps) == 8
    for t in new[:5]:  # kept: due as before
        assert harness.sched.next_check(t.key) == before[t.key]
    for t in old[:5]:  # gone
        assert harness.sched.next_check(t.key) is None
    for t in new[5:]:  # new: spread over the next 30 s
        due = harness.sched.next_check(t.key)
        assert due is not None and W0 + 100 <= due < W0 + 130
    assert harness.sched.stats.jobs == 10


async def test_key_due_between_slices_runs_with_its_new_job_and_keeps_its_phase(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    kept = template("kept", interval=60.0)
    harness = await make_harness(jobs_of([kept]), max_spread=0.0)  # ran at T0, due at T0 + 60
    await clock.advance(59.0)
    changed = dataclasses.replace(kept, macros={"HOSTNAME": "h2"})
    others = [template(f"new{i}", interval=60.0) for i in range(4)]
    steps = harness.sched.set_jobs_steps(jobs_of([*others, changed]), chunk=2)
    while harness.sched.next_check(others[0].key) is None:
        next(steps)  # until the first slice placed two new keys; `kept` is not placed yet
    await clock.advance(1.0)  # ... and falls due meanwhile
    assert harness.starts_of(kept.key) == [T0, T0 + 60]
    assert harness.starts[-1][1].macros == {"HOSTNAME": "h2"}  # with its new job
    for _ in steps:
        pass
    assert harness.sched.next_check(kept.key) == pytest.approx(W0 + 120)  # its phase, once
    await clock.advance(60.0)
    assert harness.starts_of(kept.key) == [T0, T0 + 60, T0 + 120]
