"""Hostile clients against the real server process: idle and slow-header sockets, huge and
many header fields, NUL and invalid paths. A normal client keeps being answered."""

from __future__ import annotations

import resource
import select
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .helpers import ServerProcess

pytestmark = pytest.mark.slow

HEAD_TIMEOUT = 10.0  # augenmass.server.httpproto.HEAD_TIMEOUT


def _config(tmp_path: Path, http: str = "") -> Path:
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(f"""
settings: {{max_check_spread: 1s, probe_workers: 0{", http: " + http if http else ""}}}
hosts: {{app: {{address: 127.0.0.1, check: {{type: dummy, state: ok}}}}}}
services:
  - {{name: fine, host: app, check_interval: 5s, check: {{type: dummy, state: ok}}}}
""")
    return cfg


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    http = getattr(request, "param", "")
    srv = ServerProcess(_config(tmp_path, http), tmp_path / "data").start()
    try:
        yield srv
    finally:
        srv.stop()


def _raise_fd_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip(f"needs {need} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def _connect(port: int, first: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if first:
        sock.sendall(first)
    sock.settimeout(None)  # blocking: MSG_DONTWAIT below then answers at once
    return sock


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(4096, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True  # reset


def _wait_closed(socks: list[socket.socket], timeout: float) -> float:
    """Seconds until the server closed every socket (bounded by `timeout`)."""
    start = deadline = time.monotonic()
    deadline += timeout
    open_ = set(socks)
    while open_ and time.monotonic() < deadline:
        poller = select.poll()
        by_fd = {s.fileno(): s for s in open_}
        for fd in by_fd:
            poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        for fd, _ in poller.poll(500):
            if _closed_by_peer(by_fd[fd]):
                open_.discard(by_fd[fd])
    assert not open_, f"{len(open_)} of {len(socks)} sockets still open after {timeout} s"
    return time.monotonic() - start


def _timed_get(url: str) -> tuple[int, float]:
    start = time.monotonic()
    with httpx.Client(timeout=5) as c:  # a fresh connection, like a new visitor
        status = c.get(url).status_code
    return status, time.monotonic() - start


def _vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


def test_idle_and_slow_header_sockets_do_not_lock_out_a_normal_client(
    server: ServerProcess,
) -> None:
    _raise_fd_limit(4096)
    base = f"http://127.0.0.1:{server.port}"
    idle: list[socket.socket] = []
    slow: list[socket.socket] = []
    stop = threading.Event()
    try:
        opened = time.monotonic()
        for _ in range(500):
            idle.append(_connect(server.port))
            slow.append(_connect(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n"))

        def drip() -> None:  # one header byte every 2 s each: the slowloris
            for _ in range(30):
                if stop.wait(2.0):
                    return
                for s in slow:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        for path in ("/api/health", "/login", "/status") * 2:
            status, took = _timed_get(base + path)
            assert status == 200, path  # uvicorn alone answered 503 past 1,000 connections
            assert took < 1.0, f"{path} took {took:.2f} s"
        # The server ends them all once the head timeout has passed: idle ones, and the slow
        # ones although they keep sending.
        _wait_closed(idle + slow, HEAD_TIMEOUT + 10 - (time.monotonic() - opened))
        assert time.monotonic() - opened >= HEAD_TIMEOUT - 1  # not before their time
        status, took = _timed_get(base + "/api/health")
        assert status == 200 and took < 1.0
    finally:
        stop.set()
        for s in idle + slow:
            s.close()


@pytest.mark.parametrize("server", ["{max_connections: 50}"], indirect=True)
def test_past_max_connections_the_longest_idle_are_closed_first(server: ServerProcess) -> None:
    socks = [_connect(server.port) for _ in range(100)]
    try:
        status, took = _timed_get(f"http://127.0.0.1:{server.port}/api/health")
        assert status == 200 and took < 1.0
        # The 51 oldest went at once (50 newer idle ones and the client's stayed), long
        # before the head timeout.
        _wait_closed(socks[:51], 3.0)
        assert not any(_closed_by_peer(s) for s in socks[-40:])
    finally:
        for s in socks:
            s.close()


def _send_big_header(port: int, size: int) -> bytes:
    with _connect(port) as sock:
        sock.settimeout(10)
        try:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ")
            chunk = b"a" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                sock.sendall(chunk)
            sock.sendall(b"\r\n\r\n")
            return sock.recv(100)
        except OSError:
            return b""  # closed while we were still sending: refused too


def test_huge_headers_are_refused_without_the_server_growing(server: ServerProcess) -> None:
    pid = server.proc.pid  # type: ignore[union-attr]
    rss, peak = _vm(pid, "VmRSS"), _vm(pid, "VmHWM")
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _send_big_header(server.port, 32 << 20), range(4)))
    for answer in answers:
        assert not answer.startswith(b"HTTP/1.1 200"), answer
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431"), answer
    grew, peak_grew = _vm(pid, "VmRSS") - rss, _vm(pid, "VmHWM") - peak
    assert grew < 30 << 20 and peak_grew < 30 << 20, (grew >> 20, peak_grew >> 20)
    assert httpx.get(f"http://127.0.0.1:{server.port}/api/health", timeout=5).status_code == 200


def test_too_many_header_fields_get_431(server: ServerProcess) -> None:
    fields = [(f"X-F{i}", "v") for i in range(200)]
    resp = httpx.get(f"http://127.0.0.1:{server.port}/api/health", headers=fields, timeout=5)
    assert resp.status_code == 431
    many_but_fine = [(f"X-F{i}", "v") for i in range(60)]
    ok = httpx.get(f"http://127.0.0.1:{server.port}/api/health", headers=many_but_fine, timeout=5)
    assert ok.status_code == 200


BAD_PATHS = [
    "/static/%00x",
    "/static/app.css%00.png",
    "/static/..%2f..%2fetc/passwd",
    "/static/%2e%2e/%2e%2e/etc/passwd",
    "/static/%ff%fe",
    "/api/%00",
    "/status%00",
    "/static/" + "a" * 300,
    "/static/a/" + "b" * 300 + "/c",
]


def test_nul_and_invalid_paths_are_404_without_a_traceback(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5):
        pass
    for path in BAD_PATHS:
        with _connect(server.port) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 404"), (path, answer[:200])
        assert b"root:" not in answer
    ok = httpx.get(f"http://127.0.0.1:{server.port}/static/app.css", timeout=5)
    assert ok.status_code == 200  # the real files are still served
    log = server.log.read_text()
    assert "Traceback" not in log and "request failed" not in log, log[-3000:]


def _read_answers(sock: socket.socket, count: int, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while data.count(b"HTTP/1.1 ") < count or not data.endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_pipelined_requests_are_answered_and_an_idle_keep_alive_is_closed(
    server: ServerProcess,
) -> None:
    with _connect(server.port) as sock:
        one = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
        sock.sendall(one * 3)  # three requests in one packet
        answers = _read_answers(sock, 3)
        assert answers.count(b"HTTP/1.1 200") == 3, answers[:300]
        answered = time.monotonic()
        sock.settimeout(None)
        # Idle after its answers: the server closes it after the keep-alive timeout (5 s).
        _wait_closed([sock], 10)
        assert 4 < time.monotonic() - answered < 8
