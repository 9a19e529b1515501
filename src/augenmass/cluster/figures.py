"""What the cluster dispatch counts, per zone and in all (shown by /api/health and the UI).

Apart from the dispatch so that reading them does not import nats-py (and aiohttp with it,
~10 MB of RSS) into a server that has no cluster configured.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ZoneFigures:
    zone: str
    workers: int = 0  # alive now
    running: int = 0  # jobs the live workers run now (their heartbeats)
    slots: int = 0  # jobs they could run at once
    load1: float = 0.0  # the highest 1-minute load average of their machines
    waiting: int = 0  # jobs in the stream no worker took yet
    at_workers: int = 0  # jobs handed out, not yet acknowledged
    sent: int = 0
    results: int = 0
    redelivered: int = 0  # answers of jobs that were handed out more than once
    expired: int = 0  # taken after their deadline: not run
    unanswered: int = 0  # no answer within the job's answer window: the check was not run
    ran_here: int = 0  # no live worker (or NATS down): the server ran the check itself
    unconfirmed: int = 0  # published without JetStream's confirmation in time (overload)


@dataclass(frozen=True)
class ClusterFigures:
    connected: bool
    nats: str  # the URL without its password
    zones: tuple[ZoneFigures, ...]
    duplicates: int  # answers for a job already answered (ignored)
    refused: int  # malformed answers, or answers from the wrong zone
