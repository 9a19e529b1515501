"""A thousand hostile checks leave no file descriptor and no task behind."""

from __future__ import annotations

import asyncio
import gc
import os
from pathlib import Path

import pytest
from webtest_certs import Pki, write_chain
from webtest_servers import Running, serve, server_context, silent, tls_hello

from augenmass.probes.http import HttpProbe
from augenmass.probes.httpclient import _ResponseReader
from augenmass.probes.tls import TlsProbe


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
async def test_thousand_hostile_checks_leak_nothing(web: Running, tmp_path: Path, pki: Pki) -> None:
    cert, key = write_chain(tmp_path, "s", pki.leaf(), pki.intermediate)
    http, tls = HttpProbe(), TlsProbe()
    async with (
        serve(silent) as quiet,
        serve(tls_hello, ssl_ctx=server_context(str(cert), str(key))) as secure,
    ):
        targets = [
            (http, {"url": web.url("/garbage")}, 2.0),
            (http, {"url": web.url("/loop")}, 2.0),
            (http, {"url": web.url("/meta")}, 2.0),
            (http, {"url": web.url("/truncated")}, 2.0),
            (http, {"url": web.url("/huge")}, 5.0),
            (http, {"url": web.url("/status/500")}, 2.0),
            (http, {"url": quiet.url("/")}, 0.05),
            (http, {"url": quiet.url("/", scheme="https")}, 0.05),
            (http, {"url": secure.url("/", scheme="https")}, 2.0),  # untrusted certificate
            (http, {"url": "http://127.0.0.1:1/"}, 2.0),
            (tls, {"host": "127.0.0.1", "port": quiet.port}, 0.05),
            (tls, {"host": "127.0.0.1", "port": secure.port}, 2.0),  # verify fails: 2 handshakes
        ]
        # warm up: first-use imports, cached contexts, lazily created loop objects
        for probe, opts, timeout in targets:
            await probe.run(opts, timeout)
        fds, tasks = open_fds(), len(asyncio.all_tasks())
        states = []
        for round_ in range(1000 // 50):
            batch = [targets[(round_ * 50 + i) % len(targets)] for i in range(50)]
            results = await asyncio.gather(*(p.run(o, t) for p, o, t in batch))
            states.extend(r.status for r in results)
        await asyncio.sleep(0.1)  # let aborted transports finish closing
    assert len(states) == 1000
    # every one is a result (the capped 1 GB body is even OK), none an exception
    huge = targets.index(targets[4])
    expected = [0 if i % len(targets) == huge else 2 for i in range(1000)]
    assert states == expected
    assert open_fds() <= fds
    assert len(asyncio.all_tasks()) <= tasks


async def test_a_finished_check_leaves_nothing_for_the_cyclic_collector(web: Running) -> None:
    """The response reader, its parser and the connection are freed when the check ends, not
    by a later garbage-collector pass (it held a socket and 13 more objects per check, and at
    thousands of checks a second that made young passes frequent and memory grow between
    them)."""
    probe = HttpProbe()
    opts = {"url": web.url("/status/200")}
    await probe.run(opts, 2.0)  # warm up
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            assert (await probe.run(opts, 2.0)).status == 0
        for _ in range(3):
            await asyncio.sleep(0.01)  # aborted transports call connection_lost
        alive = [o for o in gc.get_objects() if isinstance(o, _ResponseReader)]
    finally:
        gc.enable()
    assert alive == []
