"""The streams and consumers, made (and corrected) by the server: workers only bind to them,
so a worker's NATS user needs no right to create or change anything.

jobs stream    `{prefix}_jobs`: subjects `{prefix}.jobs.*`, work queue (a job is gone once a
               worker acknowledged it), one durable pull consumer per zone `jobs-{zone}`.
results stream `{prefix}_results`: subjects `{prefix}.results.{zone}.{server}`, work queue,
               duplicate window: a result published twice under its job id is stored once;
               one consumer per server process `server-{server}` (removed an hour after it
               stopped), so each server takes only the answers to its own jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, NotFoundError

from augenmass.cluster import wire

log = logging.getLogger("augenmass.cluster")

MAX_DELIVER = 3  # a job that killed (or lost) two workers is not handed out a third time
JOB_MAX_AGE = 3600.0  # no job is useful after an hour; keeps a stream without workers bounded
DUPLICATE_WINDOW = 600.0  # longer than any job's answer window (docs/workers.md)
MAX_ACK_PENDING = 20_000


def stream_configs(prefix: str) -> list[StreamConfig]:
    return [
        StreamConfig(
            name=wire.jobs_stream(prefix),
            subjects=[wire.jobs_subject(prefix, "*")],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            max_age=JOB_MAX_AGE,
            duplicate_window=DUPLICATE_WINDOW,
        ),
        StreamConfig(
            name=wire.results_stream(prefix),
            subjects=[f"{prefix}.results.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            max_age=JOB_MAX_AGE,
            duplicate_window=DUPLICATE_WINDOW,
        ),
    ]


def jobs_consumer_config(prefix: str, zone: str, ack_wait: float) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=wire.jobs_consumer(zone),
        filter_subject=wire.jobs_subject(prefix, zone),
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait,
        max_deliver=MAX_DELIVER,
        max_ack_pending=MAX_ACK_PENDING,
    )


SERVER_GONE = 3600.0  # a server's answers consumer is removed this long after it stopped


def results_consumer_config(prefix: str, server: str) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=wire.results_consumer(server),
        filter_subject=wire.results_subject(prefix, "*", server),
        inactive_threshold=SERVER_GONE,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=30.0,
        max_ack_pending=MAX_ACK_PENDING,
    )


async def ensure(
    js: JetStreamContext, prefix: str, zones: Iterable[str], ack_wait: float, server: str
) -> None:
    """Make the streams and consumers as the config says (again after a NATS restart that
    lost its store; a changed ack_wait is applied)."""
    for config in stream_configs(prefix):
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
            log.info("stream made", extra={"stream": config.name})
        else:
            await js.update_stream(config)
    jobs = wire.jobs_stream(prefix)
    for zone in zones:
        await _consumer(js, jobs, jobs_consumer_config(prefix, zone, ack_wait))
    await _consumer(js, wire.results_stream(prefix), results_consumer_config(prefix, server))


async def _consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    name = config.durable_name or ""
    try:
        info = await js.consumer_info(stream, name)
    except NotFoundError:
        await js.add_consumer(stream, config)
        return
    wanted = (config.ack_wait, config.max_deliver or -1)
    if (info.config.ack_wait, info.config.max_deliver or -1) == wanted:
        return
    try:
        await js.add_consumer(stream, config)  # nats-server >= 2.9 updates these in place
    except APIError:
        # an older server: make it anew (the stream keeps the jobs; unacked ones go out again)
        await js.delete_consumer(stream, name)
        await js.add_consumer(stream, config)
    log.info("consumer updated", extra={"consumer": name, "ack_wait": config.ack_wait})
