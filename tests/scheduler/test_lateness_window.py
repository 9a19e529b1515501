"""The lateness window: the figures of the last `window` seconds, in bounded memory."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from augenmass.scheduler.stats import LatenessWindow, percentile


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.floats(0.0, 3.0), min_size=0, max_size=400),
    window=st.sampled_from([1.0, 5.0, 60.0]),
    max_samples=st.sampled_from([3, 50, 1000]),
    later=st.floats(0.0, 10.0),
)
def test_figures_are_those_of_the_newest_samples_in_the_window(
    gaps: list[float], window: float, max_samples: int, later: float
) -> None:
    lw = LatenessWindow(window, max_samples=max_samples)
    rng = random.Random(len(gaps))
    samples, at = [], 0.0
    for gap in gaps:
        at += gap
        lateness = rng.random()
        lw.add(at, lateness)
        samples.append((at, lateness))
    now = at + later
    inside = sorted(late for t, late in samples[-max_samples:] if t >= now - window)
    expected = (
        (len(inside), percentile(inside, 0.5), percentile(inside, 0.99), inside[-1])
        if inside
        else (0, 0.0, 0.0, 0.0)
    )
    assert lw.figures(now) == expected


def test_a_busy_minute_keeps_memory_bounded() -> None:
    """A million starts (overload for a long time, the lead never popping): the figures cover
    the newest max_samples, pop_samples the newest max_unpopped, nothing more is kept."""
    lw = LatenessWindow(60.0, max_samples=10_000, max_unpopped=5_000)
    for i in range(1_000_000):
        lw.add(i * 0.0001, 1.0 if i % 2 else 0.0)
    count, p50, _, worst = lw.figures(100.0)
    assert count == 10_000 and p50 == 0.0 and worst == 1.0
    assert len(lw._at) <= 2 * 10_000 + 1024  # the dead front is dropped as it goes
    popped = lw.pop_samples()
    assert len(popped) == 5_000 and lw.pop_samples() == []
