"""Jobs go out to the workers of their zone and their results come back; zones without a live
worker are checked by the server itself; duplicates are ignored; expired jobs are not run."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import nats
from natsserver import NatsServer

from augenmass.cluster import wire
from augenmass.core.plan import ClusterSettings
from augenmass.core.values import CheckKey, CheckResult

from .helpers import (
    close,
    dispatch,
    dummy_job,
    local_of,
    plugin_job,
    prefix,
    ready,
    remote_result,
    shell_plugin,
    start_worker,
    stop,
    until,
)


async def test_jobs_flow_through_a_worker_and_results_come_back(nats_server: NatsServer) -> None:
    pfx = prefix()
    d = dispatch(nats_server.url, pfx)
    await d.start()
    w = start_worker(nats_server.url, pfx, name="w1")
    try:
        await ready(d)
        result = await remote_result(d, dummy_job())
        assert (result.key, result.status, result.output) == (
            CheckKey("h", "s"),
            1,
            "from a worker",
        )
        assert result.source == "worker:w1"
        many = [d.offer(dummy_job(f"s{i}"), "default") for i in range(50)]
        results = await asyncio.wait_for(asyncio.gather(*many), 20)  # type: ignore[arg-type]
        assert sorted(r.key.service for r in results) == sorted(f"s{i}" for i in range(50))
        figures = d.figures()
        zone = next(z for z in figures.zones if z.zone == "default")
        assert figures.connected and (zone.sent, zone.results, zone.ran_here) == (51, 51, 0)
        assert zone.workers == 1 and zone.slots == 64
        assert local_of(d).ran == []
    finally:
        await stop(w)
        await d.stop()


async def test_a_zone_without_a_live_worker_is_checked_by_the_server(
    nats_server: NatsServer,
) -> None:
    pfx = prefix()
    d = dispatch(nats_server.url, pfx, zones=("dc1", "dc2"))
    await d.start()
    w = start_worker(nats_server.url, pfx, zone="dc1")
    try:
        await ready(d, "dc1")
        assert d.offer(dummy_job(), "dc2") is None  # the server runs it itself
        remote = d.offer(dummy_job(), "dc1")
        assert remote is not None and (await asyncio.wait_for(remote, 10)) is not None
        figures = {z.zone: z for z in d.figures().zones}
        assert figures["dc2"].ran_here == 1 and figures["dc1"].sent == 1
        assert figures["dc1"].workers == 1 and figures["dc2"].workers == 0
    finally:
        await stop(w)
        await d.stop()
    # its worker gone (heartbeats stop), the zone falls back to the server within 3 beats
    d2 = dispatch(nats_server.url, pfx, zones=("dc1", "dc2"))
    await d2.start()
    try:
        await until(lambda: d2._ready, 10, "connected")
        assert d2.offer(dummy_job(), "dc1") is None
    finally:
        await d2.stop()


async def test_a_zone_added_on_reload_gets_its_consumer_and_its_workers(
    nats_server: NatsServer,
) -> None:
    pfx = prefix()
    d = dispatch(nats_server.url, pfx)
    await d.start()
    w = start_worker(nats_server.url, pfx, zone="dc9")
    try:
        await until(lambda: d._ready, 10, "connected")
        assert d.offer(dummy_job(), "dc9") is None, "not configured yet: the server runs it"
        settings = ClusterSettings(nats_url=nats_server.url, prefix=pfx, zones=("dc9",))
        d.reload(settings, (), 65536)
        await ready(d, "dc9")
        await until(lambda: "dc9" in d._zones_made, 10, "dc9's consumer made")
        remote = d.offer(dummy_job(output="in dc9"), "dc9")
        assert remote is not None
        result = await asyncio.wait_for(remote, 10)
        assert result is not None and result.output == "in dc9"
    finally:
        await stop(w)
        await d.stop()


async def test_two_servers_on_one_prefix_each_get_their_own_answers(
    nats_server: NatsServer,
) -> None:
    """An active and a standby server share the streams: neither takes the other's answers."""
    pfx = prefix()
    first, second = dispatch(nats_server.url, pfx), dispatch(nats_server.url, pfx)
    await first.start()
    await second.start()
    w = start_worker(nats_server.url, pfx)
    try:
        await ready(first)
        await ready(second)
        offers = [
            d.offer(dummy_job(f"s{i}", output=f"for {n}"), "default")
            for i in range(20)
            for n, d in (("first", first), ("second", second))
        ]
        results = await asyncio.wait_for(asyncio.gather(*offers), 20)  # type: ignore[arg-type]
        assert [r.output for r in results] == ["for first", "for second"] * 20
        assert first.figures().duplicates == second.figures().duplicates == 0
    finally:
        await stop(w)
        await first.stop()
        await second.stop()


async def test_a_duplicate_result_is_ignored(nats_server: NatsServer) -> None:
    pfx = prefix()
    d = dispatch(nats_server.url, pfx)
    await d.start()
    w = start_worker(nats_server.url, pfx)
    nc = await nats.connect(nats_server.url)
    try:
        await ready(d)
        seen: list[str] = []
        sub = await nc.subscribe(wire.jobs_subject(pfx, "default"))
        remote = d.offer(dummy_job(output="first"), "default")
        assert remote is not None
        first = await asyncio.wait_for(remote, 10)
        assert first is not None and first.output == "first"
        await sub.unsubscribe()
        job_id = next(iter(d._answered))
        seen.append(job_id)
        js = nc.jetstream()
        copy = wire.encode_answer(
            wire.Answer(job_id, wire.RESULT, "w9", 2, CheckResult(first.key, 2, "second copy"))
        )
        subject = wire.results_subject(pfx, "default", d.server_id)
        # under the same message id, JetStream itself drops it (duplicate window) ...
        ack = await js.publish(subject, copy, headers={wire.MSG_ID: job_id})
        assert ack.duplicate
        # ... and a copy that got past it (another id) is counted and ignored by the server
        await js.publish(subject, copy, headers={wire.MSG_ID: job_id + "-again"})
        await until(lambda: d.figures().duplicates == 1, 10, "the duplicate counted")
        zone = next(z for z in d.figures().zones if z.zone == "default")
        assert zone.results == 1
    finally:
        await close(nc)
        await stop(w)
        await d.stop()


async def test_a_job_taken_after_its_deadline_is_counted_not_run(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    pfx = prefix()
    marker = tmp_path / "ran"
    plugin = shell_plugin(tmp_path / "touch.sh", f"echo run >> {marker}\necho OK\n")
    d = dispatch(nats_server.url, pfx)
    await d.start()
    nc = await nats.connect(nats_server.url)
    try:
        await until(lambda: d._ready, 10, "connected")
        js = nc.jetstream()
        # a job that waited too long (its workers were busy or gone): published as the server
        # does, with a deadline that has passed, then a worker comes
        late = wire.Job(
            "late-1",
            "default",
            d.server_id,
            plugin_job((str(plugin),)),
            time.time() - 1,
            2.0,
            (),
            65536,
        )
        await js.publish(
            wire.jobs_subject(pfx, "default"), wire.encode_job(late), headers={wire.MSG_ID: "l1"}
        )
        w = start_worker(nats_server.url, pfx)
        try:
            await until(lambda: w[0].expired == 1, 10, "the worker saw the expired job")
            await until(
                lambda: next(z for z in d.figures().zones if z.zone == "default").expired == 1,
                10,
                "the server counted it",
            )
            # and a fresh job still runs: the worker is fine
            await ready(d)
            remote = d.offer(plugin_job((str(plugin),)), "default")
            assert remote is not None and (await asyncio.wait_for(remote, 10)) is not None
        finally:
            await stop(w)
        assert marker.read_text() == "run\n", "the expired job did not run, the fresh one did"
    finally:
        await close(nc)
        await d.stop()
