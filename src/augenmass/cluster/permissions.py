"""The nats-server permissions of one zone's worker user (docs/workers.md): exactly what the
worker needs, so that a worker of one zone cannot read another zone's jobs (and their secrets).

A worker asks its zone's consumer for jobs, acknowledges them, stores answers under its zone's
results subjects, sends heartbeats under its zone's subject, and receives replies on its zone's
own inbox prefix. Nothing else: no subscription to job subjects, no other inboxes, no
JetStream API besides its consumer's "next" (so no consumer of its own, no stream reads).
"""

from __future__ import annotations

from typing import Any

from augenmass.cluster import wire


def worker_permissions(prefix: str, zone: str) -> dict[str, Any]:
    stream, consumer = wire.jobs_stream(prefix), wire.jobs_consumer(zone)
    return {
        "publish": {
            "allow": [
                f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}",
                f"$JS.ACK.{stream}.{consumer}.>",
                wire.results_subject(prefix, zone, "*"),
                wire.workers_subject(prefix, zone),
            ]
        },
        "subscribe": {"allow": [wire.inbox_prefix(prefix, zone) + ".>"]},
    }
