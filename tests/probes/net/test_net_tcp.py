"""The `tcp` probe's dialogue (send, expect, banner, quit, TLS) against servers on 127.0.0.1,
compared with check_tcp. The connect-only path is tested in tests/runner/test_probes.py."""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

import pytest
from net_helpers import TcpFactory, job, plugin_state
from net_servers import line_server

from augenmass.runner import Runner

BANNER = b"SSH-2.0-OpenSSH_9.2 admin alice-sentinel@example.org\r\n"


def echo(line: str) -> list[bytes] | None:
    return [f"you said {line}\r\n".encode()] if line != "bye" else None


async def test_banner_is_shown_redacted(runner: Runner, tcp_server: TcpFactory) -> None:
    port = await tcp_server(line_server(BANNER, echo))
    result = await runner.run(job("tcp", {"port": port, "banner": True}, timeout=3))
    assert result.status == 0, result.output
    assert result.output.startswith("TCP OK - ")
    assert result.output.endswith(
        f"on 127.0.0.1 port {port} [SSH-2.0-OpenSSH_9.2 admin <redacted>]"
    )
    assert result.perfdata[0].label == "time" and result.perfdata[0].max == 3.0


async def test_send_and_expect(runner: Runner, tcp_server: TcpFactory) -> None:
    port = await tcp_server(line_server(None, echo))
    base = {"port": port, "send": "ping\r\n", "quit": "bye"}
    found = await runner.run(job("tcp", {**base, "expect": ["you said ping"]}))
    regex = await runner.run(
        job("tcp", {**base, "expect": [r"said p[io]ng$"], "expect_regex": True})
    )
    missing = await runner.run(job("tcp", {**base, "expect": ["pong"]}, timeout=1))
    strict = await runner.run(
        job("tcp", {**base, "expect": ["pong"], "mismatch_state": "critical"}, timeout=1)
    )
    assert found.status == 0, found.output
    assert found.output.endswith("[you said ping]")
    assert regex.status == 0, regex.output
    assert missing.status == 1
    assert missing.output == "TCP WARNING - Unexpected response from host: you said ping"
    assert strict.status == 2


async def test_expect_any_or_all(runner: Runner, tcp_server: TcpFactory) -> None:
    port = await tcp_server(line_server(b"220 ready ESMTP\r\n", echo))
    base = {"port": port, "expect": ["220", "IMAP"]}
    anyone = await runner.run(job("tcp", base))
    every = await runner.run(job("tcp", {**base, "expect_match": "all"}, timeout=0.5))
    assert anyone.status == 0
    assert every.status == 1  # waited for IMAP until the deadline, then judged what came


async def test_no_data_and_peer_closing_early(runner: Runner, tcp_server: TcpFactory) -> None:
    silent = await tcp_server(line_server(None, echo))
    closes = await tcp_server(line_server(None, lambda line: None))
    nothing = await runner.run(job("tcp", {"port": silent, "banner": True}, timeout=0.5))
    early = await runner.run(job("tcp", {"port": closes, "send": "x\n", "expect": ["y"]}))
    assert nothing.status == 2 and "No data received from host" in nothing.output
    assert early.status == 2 and "No data received from host" in early.output


async def test_max_bytes_caps_the_read(runner: Runner, tcp_server: TcpFactory) -> None:
    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(100):
                writer.write(b"A" * 10000)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    port = await tcp_server(flood)
    result = await runner.run(
        job("tcp", {"port": port, "expect": ["never"], "max_bytes": 100}, timeout=3)
    )
    assert result.status == 1
    assert result.output == "TCP WARNING - Unexpected response from host: " + "A" * 100


async def test_refuse_state(runner: Runner) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    plain = await runner.run(job("tcp", {"port": port, "refuse_state": "ok"}))
    talking = await runner.run(job("tcp", {"port": port, "send": "x", "refuse_state": "warning"}))
    assert (plain.status, plain.output) == (
        0,
        f"TCP OK - Connection refused on 127.0.0.1 port {port}",
    )
    assert talking.status == 1


async def test_tls(
    runner: Runner, tcp_server: TcpFactory, server_tls: ssl.SSLContext, ca_file: str
) -> None:
    port = await tcp_server(line_server(b"hello over tls\r\n", echo), server_tls)
    good = await runner.run(
        job("tcp", {"port": port, "tls": True, "ca_file": ca_file, "expect": ["hello"]})
    )
    untrusted = await runner.run(job("tcp", {"port": port, "tls": True}))
    assert good.status == 0, good.output
    assert untrusted.status == 2 and "certificate not accepted" in untrusted.output


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"port": 1, "expect": ["(unclosed"], "expect_regex": True}, "not a valid regular expr"),
        ({"port": 1, "expect": [3]}, "expect must be a text or a list of texts"),
        ({"port": 1, "banner": "perhaps"}, "banner must be true or false"),
        ({"port": 1, "send": "x", "max_bytes": 0}, "max_bytes must be a positive number"),
        ({"port": 1, "expect": ["x"], "expect_match": "most"}, "expect_match must be any or all"),
        ({"port": 1, "refuse_state": "meh"}, "refuse_state must be ok, warning, critical"),
    ],
)
async def test_bad_options(runner: Runner, options: dict[str, Any], text: str) -> None:
    result = await runner.run(job("tcp", options))
    assert result.status == 3
    assert result.output.startswith("bad check options: tcp: "), result.output
    assert text in result.output


@pytest.mark.slow
async def test_same_state_as_check_tcp(runner: Runner, tcp_server: TcpFactory) -> None:
    port = await tcp_server(line_server(BANNER, echo))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    cases: list[tuple[int, dict[str, Any], list[str]]] = [
        (port, {}, []),
        (port, {"expect": ["OpenSSH"]}, ["-e", "OpenSSH"]),
        (port, {"expect": ["nginx"]}, ["-e", "nginx"]),
        (
            port,
            {"send": "hi\r\n", "expect": ["you said hi"]},
            ["-s", "hi\r\n", "-e", "you said hi"],
        ),
        (closed, {}, []),
        (closed, {"refuse_state": "warning"}, ["-r", "warn"]),
        (port, {"critical": "0.0000001"}, ["-c", "0.0000001"]),
    ]
    for target, options, argv in cases:
        ours = await runner.run(job("tcp", {"port": target, **options}, timeout=3))
        code, line = await plugin_state(
            "check_tcp", "-H", "127.0.0.1", "-p", str(target), "-t", "3", *argv
        )
        assert ours.status == code, (argv, ours.output, line)
