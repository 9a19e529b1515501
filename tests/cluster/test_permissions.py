"""Secrets in jobs reach the workers of their zone only: with one NATS user per zone
(docs/workers.md), a worker of zone a can take a's jobs but cannot read zone b's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import nats
import pytest
from natsserver import NatsServer, nats_missing

from augenmass.cluster import wire
from augenmass.cluster.permissions import worker_permissions

from .helpers import close, dispatch, dummy_job, prefix, ready, start_worker, stop, until

PFX = prefix()


def _config() -> str:
    users = [{"user": "server", "password": "server-pw"}]
    for zone in ("a", "b"):
        users.append(
            {
                "user": f"worker-{zone}",
                "password": f"{zone}-pw",
                "permissions": worker_permissions(PFX, zone),
            }
        )
    # nats-server's config syntax takes JSON for values
    return f"authorization {{ users = {json.dumps(users)} }}\n"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    reason = nats_missing()
    if reason:
        pytest.skip(reason)
    server = NatsServer(tmp_path_factory.mktemp("nats"), config=_config()).start()
    try:
        yield server
    finally:
        server.stop()


def _url(server: NatsServer, user: str, password: str) -> str:
    return f"nats://{user}:{password}@127.0.0.1:{server.port}"


async def test_a_worker_runs_its_own_zone_and_cannot_read_another(guarded: NatsServer) -> None:
    d = dispatch(_url(guarded, "server", "server-pw"), PFX, zones=("a", "b"))
    await d.start()
    w = start_worker(_url(guarded, "worker-a", "a-pw"), PFX, zone="a")
    errors: list[str] = []

    async def error_cb(exc: Exception) -> None:
        errors.append(str(exc).lower())

    intruder = await nats.connect(_url(guarded, "worker-a", "a-pw"), error_cb=error_cb)
    try:
        await ready(d, "a")
        remote = d.offer(dummy_job(output="secret for a"), "a")
        assert remote is not None
        result = await asyncio.wait_for(remote, 10)
        assert result is not None and result.output == "secret for a"
        # a job of zone b waits in the stream
        server_nc = d._nc
        assert server_nc is not None
        js = server_nc.jetstream()
        job = wire.Job("b-1", "b", d.server_id, dummy_job(), 4e9, 5.0, (), 1000)
        await js.publish(wire.jobs_subject(PFX, "b"), wire.encode_job(job))
        # worker a's user may not subscribe to b's subject, nor to b's workers' inboxes ...
        await intruder.subscribe(wire.jobs_subject(PFX, "b"))
        await intruder.subscribe(wire.inbox_prefix(PFX, "b") + ".>")
        await intruder.subscribe(">")
        # ... nor ask b's consumer for a job, nor make a consumer of its own
        stream = wire.jobs_stream(PFX)
        await intruder.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{wire.jobs_consumer('b')}",
            b'{"batch": 1}',
            reply=wire.inbox_prefix(PFX, "a") + ".x",
        )
        await intruder.publish(f"$JS.API.CONSUMER.CREATE.{stream}", b"{}")
        await until(lambda: len(errors) >= 5, 10, "five permission violations")
        assert all("permissions violation" in e for e in errors), errors
        info = await js.consumer_info(stream, wire.jobs_consumer("b"))
        assert info.num_pending == 1 and info.num_ack_pending == 0, "b's job untouched"
        # and b's heartbeats cannot be faked by a: b has no live worker, its checks stay home
        assert d.offer(dummy_job(), "b") is None
    finally:
        await close(intruder)
        await stop(w)
        await d.stop()
