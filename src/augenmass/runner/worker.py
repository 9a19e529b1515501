"""A probe worker process: `python -m augenmass.runner.worker`.

The server's event loop is one core; built-in probes (connect, TLS, parse) are most of the CPU a
check costs, so the server hands them to workers and keeps the scheduler, the state engine and the
store for itself. A worker reads jobs from stdin and writes results to stdout (see `wire`); it
keeps no state the server needs: when it dies the server restarts it. It exits when stdin closes,
so a killed server leaves no worker behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from augenmass.core.clock import SystemClock
from augenmass.core.secretkeys import install, secrets_in
from augenmass.probes import ProbeSet
from augenmass.probes.base import reserve_options
from augenmass.runner import wire
from augenmass.runner.fdlimit import raise_fd_limit
from augenmass.runner.probecall import call_probe

log = logging.getLogger("augenmass.worker")

# How long a SIGTERM'd worker waits for the server to close its stdin before it ends anyway.
TERM_GRACE = 10.0
# Probes started per pass of the loop. Handed a frame of hundreds of jobs, the worker started
# them all at once: their connections opened together, each probe's measured time included
# waiting for all the others (125-210 ms instead of 2 at 6,000 checks/s asked), and every check
# cost more. Started a pass at a time (the rest wait in order), the same box did 5,661 instead
# of 4,833 checks/s, at 0.209 instead of 0.299 CPU-ms each (bench/RESULTS.md). Not a bound on
# how many run: a probe that hangs on a dead target holds up nothing but itself.
START_PER_PASS = 32

Job = tuple[int, str, Mapping[str, Any], float, int]  # id, kind, options, timeout, timeout state


class _Worker(asyncio.Protocol):
    def __init__(self, out: asyncio.WriteTransport, done: asyncio.Future[None]) -> None:
        self._out = out
        self._done = done
        self._reader = wire.FrameReader()
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: list[str] = []
        # ref -> (kind, options, timeout, timeout state), as the server defined them; the
        # options are one read-only view per check, so the probes' memos find them by identity
        self._defined: dict[int, tuple[str, Mapping[str, Any], float, int]] = {}
        self._reserved = 0
        self._ready: deque[Job] = deque()  # jobs not started yet, in the order they came
        self._starting = False  # a pass that starts the next of them is scheduled
        self._loop = asyncio.get_running_loop()
        self._probes = ProbeSet(SystemClock())  # a worker process runs on real time

    def data_received(self, data: bytes) -> None:
        try:
            items = [item for f in self._reader.feed(data) for item in wire.messages(f)]
        except wire.WireError as exc:
            log.error("bad frame from the server; stopping", extra={"error": str(exc)})
            self._finish()
            return
        secrets: set[str] = set()
        for item in items:
            try:
                what, body = wire.parse_request(item)
            except wire.WireError as exc:
                log.error("bad job from the server", extra={"error": str(exc)})
                continue
            if what == "define":
                ref, kind, options, timeout, state = body
                secrets |= secrets_in(options)
                self._defined[ref] = (kind, MappingProxyType(options), timeout, state)
                if len(self._defined) > self._reserved:  # memos sized for the checks sent here
                    self._reserved = 2 * len(self._defined)
                    reserve_options(self._reserved)
                continue
            if what == "forget":
                self._defined.clear()
                continue
            if what == "run":
                job_id, ref = body
                found = self._defined.get(ref)
                if found is None:  # never happens with our server: said, not guessed
                    self._answer(wire.error(job_id, f"WireError: no check defined as {ref}"))
                    continue
                job: Job = (job_id, *found)
            else:
                job = body
                secrets |= secrets_in(job[2])
            self._ready.append(job)
        if secrets:
            # The secrets among the checks' options join what this process's log lines
            # redact (the server's redaction does not reach a worker's stderr). Once per
            # frame: the pattern is compiled anew with each new secret (50 ms for 5,000).
            install(secrets)
        if self._ready and not self._starting:
            self._start_some()

    def _start_some(self) -> None:
        ready = self._ready
        for _ in range(min(START_PER_PASS, len(ready))):
            task = self._loop.create_task(self._run(*ready.popleft()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._starting = bool(ready)
        if ready:  # the next ones after this pass's I/O and answers
            self._loop.call_soon(self._start_some)

    def eof_received(self) -> bool | None:
        self._finish()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish()

    def _finish(self) -> None:
        self._ready.clear()
        for task in list(self._tasks):
            task.cancel()
        if not self._done.done():
            self._done.set_result(None)

    async def _run(
        self,
        job_id: int,
        kind: str,
        options: Mapping[str, Any],
        timeout: float,
        timeout_state: int,
    ) -> None:
        try:
            got = await call_probe(self._probes, kind, options, timeout, timeout_state)
            data = wire.result(job_id, got)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the server turns this into UNKNOWN with the reason
            log.exception("probe failed inside the worker", extra={"type": kind})
            data = wire.error(job_id, f"{type(exc).__name__}: {exc}")
        self._answer(data)

    def _answer(self, data: str) -> None:
        if not self._pending:
            # One frame, one write per loop pass for all results ready in it.
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        data, self._pending = wire.batch(self._pending), []
        if not self._out.is_closing():
            self._out.write(data)


async def _serve(out_fd: int) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    out_transport, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(out_fd, "wb"))
    worker = _Worker(out_transport, done)
    in_transport, _ = await loop.connect_read_pipe(lambda: worker, sys.stdin.buffer)
    # systemd stops a service by sending SIGTERM to every process in it, the workers too. The
    # server stops its workers itself (it closes their stdin), and a worker that ended first
    # would look to it like a crash: logged as an error, restarted. A SIGTERM meant for this
    # worker alone (the server still running) still ends it, after TERM_GRACE.
    loop.add_signal_handler(signal.SIGTERM, lambda: loop.call_later(TERM_GRACE, worker._finish))
    try:
        await done
    finally:
        in_transport.close()
        out_transport.close()


def main() -> None:
    # Ctrl-C reaches the whole process group, and so does a terminal's hang-up; the server
    # stops its workers itself (SIGINT) and reloads on SIGHUP, which means nothing to a worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # Results go through a private copy of stdout; fd 1 itself now points at stderr, so a
    # stray print() from a library cannot corrupt the protocol.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    from augenmass.core.logfmt import setup_logging

    setup_logging(os.environ.get("AUGENMASS_LOG_LEVEL", "WARNING"))
    raise_fd_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency, but never required
        pass
    asyncio.run(_serve(out_fd))


if __name__ == "__main__":
    main()
