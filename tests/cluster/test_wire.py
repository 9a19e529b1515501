"""The wire format: what a worker and the server accept from each other."""

from __future__ import annotations

import pytest

from augenmass.cluster import wire
from augenmass.core.plan import CheckSpec
from augenmass.core.values import CheckJob, CheckKey, CheckResult, PerfDatum


def _job() -> wire.Job:
    spec = CheckSpec(
        type="http",
        options={"url": "http://$HOSTADDRESS$/", "headers": {"X": "1"}, "codes": (200, 301)},
        timeout=7.5,
    )
    job = CheckJob(CheckKey("web", "home"), spec, {"HOSTADDRESS": "127.0.0.1"}, due_at=100.0)
    return wire.Job("j1", "dc1", "srv1", job, 130.0, 5.0, ("/usr/lib/nagios/plugins",), 4096)


def test_a_job_carries_everything_its_check_needs() -> None:
    back = wire.decode_job(wire.encode_job(_job()))
    assert back.job.key == CheckKey("web", "home")
    assert back.job.check.options == {
        "url": "http://$HOSTADDRESS$/",
        "headers": {"X": "1"},
        "codes": [200, 301],
    }
    assert back.job.check.timeout == 7.5 and back.job.macros == {"HOSTADDRESS": "127.0.0.1"}
    assert (back.id, back.zone, back.expires_at, back.ack_wait) == ("j1", "dc1", 130.0, 5.0)
    assert back.plugin_dirs == ("/usr/lib/nagios/plugins",) and back.output_limit == 4096


def test_a_result_comes_back_as_it_went() -> None:
    result = CheckResult(
        CheckKey("web", "home"),
        1,
        "slow",
        long_output="line 2",
        perfdata=(PerfDatum("time", 0.5, "s", "0.3", "1", 0.0, None),),
        started_at=100.0,
        duration=0.5,
    )
    answer = wire.decode_answer(wire.encode_answer(wire.Answer("j1", wire.RESULT, "w1", 2, result)))
    assert answer.result is not None and answer.deliveries == 2
    got = answer.result
    assert (got.key, got.status, got.output, got.long_output) == (
        result.key,
        1,
        "slow",
        "line 2",
    )
    assert got.perfdata == result.perfdata and got.source == "worker:w1"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"v": 99}',
        b'{"v": 1, "id": "x", "kind": "result", "worker": "w", "deliveries": 1,'
        b' "result": {"host": "h", "service": null, "status": 7}}',
        b'{"v": 1, "id": "x", "kind": "shout", "worker": "w", "deliveries": 1}',
        b'{"v": 1, "id": 5, "kind": "expired", "worker": "w", "deliveries": 1}',
    ],
    ids=["empty", "list", "version", "status", "kind", "id"],
)
def test_a_bad_answer_is_a_wire_error(data: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.decode_answer(data)


@pytest.mark.parametrize(
    "data",
    [b"{", b'{"v": 1}', b'{"v": 1, "check": {"type": 3}}'],
    ids=["broken", "empty", "type"],
)
def test_a_bad_job_is_a_wire_error(data: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.decode_job(data)


def test_a_password_in_the_url_is_not_logged() -> None:
    assert wire.safe_url("nats://w:s3cret@127.0.0.1:4222") == "nats://w@127.0.0.1:4222"
    assert "tok" not in wire.safe_url("nats://tok@127.0.0.1:4222")
    assert wire.safe_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"
