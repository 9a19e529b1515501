"""The embedded uvicorn: one housekeeping tick a second (not ten), a current Date header, and
a prompt end once asked to exit."""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time

import uvicorn

from augenmass.server.listener import _Uvicorn, bind


async def _app(scope, receive, send):  # a minimal ASGI app
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _get(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = b""
        while chunk := s.recv(4096):
            out += chunk
    return out


async def test_ticks_once_a_second_answers_with_date_and_exits_promptly():
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    web = _Uvicorn(uvicorn.Config(_app, log_config=None, lifespan="off", access_log=False))
    ticks = 0
    on_tick = web.on_tick

    async def counting(counter: int) -> bool:
        nonlocal ticks
        ticks += 1
        return await on_tick(counter)

    web.on_tick = counting  # type: ignore[method-assign]
    task = asyncio.create_task(web.serve(sockets=[sock]))
    try:
        for _ in range(100):
            if web.started:
                break
            await asyncio.sleep(0.02)
        assert web.started
        ticks = 0
        await asyncio.sleep(2.5)
        # uvicorn's own loop ticks every 0.1 s (25 here); ours once a second
        assert 1 <= ticks <= 4
        answer = await asyncio.to_thread(_get, port)
        assert answer.startswith(b"HTTP/1.1 200")
        date = next(
            line.split(b":", 1)[1].strip().decode()
            for line in answer.split(b"\r\n")
            if line.lower().startswith(b"date:")
        )
        assert abs(email.utils.parsedate_to_datetime(date).timestamp() - time.time()) < 3
    finally:
        t0 = time.monotonic()
        web.should_exit = True
        await asyncio.wait_for(task, 10)
    assert time.monotonic() - t0 < 0.9  # the exit does not wait for the next tick
