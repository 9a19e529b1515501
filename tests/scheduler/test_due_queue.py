"""DueQueue: the heap with one live entry per key, against a plain dict model."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from augenmass.core.values import CheckKey
from augenmass.scheduler.duequeue import DueQueue
from augenmass.scheduler.spread import clamp_remaining

KEYS = [CheckKey("h", f"s{i}") for i in range(6)]
ops = st.lists(
    st.tuples(
        st.sampled_from(["push", "remove", "pop"]),
        st.sampled_from(KEYS),
        st.integers(min_value=0, max_value=5).map(float),
    ),
    max_size=200,
)


@given(ops)
def test_queue_matches_a_dict_model(script: list[tuple[str, CheckKey, float]]) -> None:
    queue = DueQueue()
    model: dict[CheckKey, tuple[float, int]] = {}
    for seq, (op, key, due) in enumerate(script):
        if op == "push":
            queue.push(key, due)
            model[key] = (due, seq)
        elif op == "remove":
            queue.remove(key)
            model.pop(key, None)
        elif model:
            expected = min(model, key=lambda k: model[k])  # earliest due, then FIFO
            assert queue.pop() == (model.pop(expected)[0], expected)
        assert len(queue) == len(model)
        assert {k: queue.due_of(k) for k in KEYS} == {k: model.get(k, (None,))[0] for k in KEYS}
        assert len(queue._heap) <= 2 * len(model) + 65  # memory stays bounded


def test_count_due() -> None:
    queue = DueQueue()
    for i, key in enumerate(KEYS):
        queue.push(key, float(i))
    assert queue.count_due(2.0) == 3


def test_clamp_remaining_keeps_short_waits_and_folds_long_ones() -> None:
    assert clamp_remaining(20.0, 60.0) == 20.0
    assert clamp_remaining(-3.0, 60.0) == -3.0  # overdue keys keep their queue place
    assert clamp_remaining(290.0, 60.0) == 50.0
