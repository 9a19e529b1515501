"""`augenmass probe TYPE ...` through run_probe_cli, in a subprocess like a user runs it."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from webtest_servers import Running

from augenmass.cli.probe import parse_args, run_probe_cli
from augenmass.probes.http import HttpOptions

CODE = (
    "import sys; from augenmass.cli.probe import run_probe_cli as r; "
    "sys.exit(r(sys.argv[1], sys.argv[2:]))"
)


async def probe(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", CODE, *args]
    return await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=30)


async def test_http_ok_output_and_exit_code(web: Running) -> None:
    got = await probe("http", "--url", web.url("/ok"), "--critical", "5")
    assert got.returncode == 0, got.stderr
    first = got.stdout.splitlines()[0]
    assert first.startswith("HTTP OK - HTTP/1.1 200 OK - 32 bytes in ")
    assert " | time=" in first and ";;5;0;" in first and "time_connect=" in first


async def test_http_critical_and_warning_exit_codes(web: Running) -> None:
    assert (await probe("http", "--url", web.url("/status/500"))).returncode == 2
    assert (await probe("http", "--url", web.url("/status/404"))).returncode == 1
    got = await probe("http", "--url", web.url("/ok"), "--contains", "nope", "--status", "200")
    assert got.returncode == 2 and "string 'nope' not found" in got.stdout


async def test_host_port_and_flags(web: Running) -> None:
    got = await probe(
        "http", "--host", "127.0.0.1", "--port", str(web.port), "--path", "/headers",
        "--header", "X-One: 1", "--headers=X-Two=2", "--no-verify", "--contains", "x-two",
    )  # fmt: skip
    assert got.returncode == 0, got.stdout + got.stderr


async def test_usage_errors_exit_3() -> None:
    unknown = await probe("http", "--url", "http://127.0.0.1:1/", "--bogus", "1")
    assert unknown.returncode == 3 and "unknown option --bogus" in unknown.stderr
    bad = await probe("http", "--url", "http://127.0.0.1:1/", "--critical", "x")
    assert bad.returncode == 3 and "--critical" in bad.stderr
    missing = await probe("http", "--url")
    assert missing.returncode == 3 and "needs a value" in missing.stderr
    nokind = await probe("nosuchprobe")
    assert nokind.returncode == 3 and "unknown probe type" in nokind.stderr


async def test_help_lists_options_from_the_model() -> None:
    got = await probe("http", "--help")
    assert got.returncode == 0
    for flag in ("--url", "--max-redirects", "--allow-link-local", "--warning", "--timeout"):
        assert flag in got.stdout
    assert "(default: 10)" in got.stdout
    tls = await probe("tls", "--help")
    assert tls.returncode == 0 and "--starttls smtp|imap|pop3|postgres" in tls.stdout


@pytest.mark.parametrize("kind", ["dummy", "tcp"])
def test_generic_over_other_probes(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_probe_cli(kind, ["--help"]) == 0
    assert "--timeout" in capsys.readouterr().out


def test_timeout_goes_through_the_runner(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_probe_cli("dummy", ["--state", "ok", "--sleep", "5", "--timeout", "0.2"])
    assert code == 3
    assert capsys.readouterr().out.startswith("DUMMY UNKNOWN - timed out after 0.2 s")


def test_tcp_uses_host_as_the_address(
    web_port_closed: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_probe_cli("tcp", ["--host", "127.0.0.1", "--port", str(web_port_closed)])
    assert code == 2 and "Connection refused" in capsys.readouterr().out


def test_parse_args_shapes() -> None:
    got = parse_args(HttpOptions, ["--status", "200,301", "--status", "404", "--verify", "false"])
    assert got == {"status": [200, 301, 404], "verify": False}
    assert parse_args(HttpOptions, ["--ip-version=6"]) == {"ip_version": 6}


@pytest.fixture
def web_port_closed() -> int:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
