"""The `http` probe against real servers started by the test (see webtest_servers)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from webtest_certs import Pki, write_chain
from webtest_servers import (
    Running,
    http_app,
    response,
    serve,
    server_context,
    silent,
    tls_hello,
)

from augenmass.probes import http, netpolicy
from augenmass.probes.base import (
    CRITICAL,
    OK,
    WARNING,
    OptionError,
    OptionsMemo,
    ProbeOutcome,
    options_key,
)
from augenmass.probes.http import HttpProbe

PLUGINS = Path("/usr/lib/nagios/plugins")


async def check(timeout: float = 5.0, **options: Any) -> ProbeOutcome:
    return await HttpProbe().run(options, timeout)


def perf(outcome: ProbeOutcome) -> dict[str, Any]:
    return {p.label: p for p in outcome.perfdata}


async def test_ok_with_phase_timings_size_and_status_line(web: Running) -> None:
    got = await check(url=web.url("/ok"))
    assert got.status == OK
    assert got.output.startswith("HTTP OK - HTTP/1.1 200 OK - 32 bytes in ")
    data = perf(got)
    assert {"time", "time_dns", "time_connect", "time_firstbyte", "size"} <= set(data)
    assert "time_tls" not in data  # plain http has no TLS phase
    assert data["size"].value == 32 and data["size"].uom == "B"
    assert data["time"].uom == "s" and data["time"].value >= data["time_connect"].value


@pytest.mark.parametrize(
    ("code", "state"), [(200, OK), (204, OK), (404, WARNING), (401, WARNING), (500, CRITICAL)]
)
async def test_status_codes_judged_like_check_http(web: Running, code: int, state: int) -> None:
    got = await check(url=web.url(f"/status/{code}"))
    assert got.status == state, got.output
    assert f" {code} " in got.output


async def test_expected_status_list(web: Running) -> None:
    assert (await check(url=web.url("/status/404"), status=[404])).status == OK
    got = await check(url=web.url("/status/200"), status=[201, 202])
    assert got.status == CRITICAL
    assert "status 200 not in expected (201, 202)" in got.output


async def test_redirects_followed_then_loop_is_critical(web: Running) -> None:
    got = await check(url=web.url("/redirect/3"))
    assert got.status == OK and "redirects followed: 3" in got.long_output
    loop = await check(url=web.url("/loop"))
    assert loop.status == CRITICAL and "too many redirects (more than 10)" in loop.output
    limited = await check(url=web.url("/redirect/3"), max_redirects=2)
    assert limited.status == CRITICAL and "too many redirects" in limited.output
    unfollowed = await check(url=web.url("/redirect/3"), max_redirects=0)
    assert unfollowed.status == OK and " 302 " in unfollowed.output


async def test_redirect_to_metadata_address_refused(web: Running) -> None:
    got = await check(url=web.url("/meta"))
    assert got.status == CRITICAL
    assert "169.254.169.254 is a cloud metadata address" in got.output
    scheme = await check(url=web.url("/file"))
    assert scheme.status == CRITICAL and "scheme 'file' refused" in scheme.output


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://[fe80::1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://100.100.100.200/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0/",
    ],
)
async def test_link_local_and_metadata_refused_without_traffic(url: str) -> None:
    got = await check(url=url, timeout=1.0)
    assert got.status == CRITICAL and "refused" in got.output, got.output


async def test_allow_link_local_opens_the_policy_without_traffic() -> None:
    # no packet may leave 127/8 in tests, so the allow path is checked at the policy itself
    ip = netpolicy.parse_ip("169.254.169.254")
    assert ip is not None
    with pytest.raises(netpolicy.AddressRefused):
        netpolicy.check_ip(ip, allow_link_local=False)
    netpolicy.check_ip(ip, allow_link_local=True)
    endpoints = await netpolicy.resolve("169.254.169.254", 80, allow_link_local=True)
    assert endpoints == [(socket.AF_INET, ("169.254.169.254", 80))]


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("169.254.1.1", True),
        ("::ffff:169.254.169.254", True),
        ("::169.254.169.254", True),
        ("2002:a9fe:a9fe::1", True),  # 6to4 around 169.254.169.254
        ("64:ff9b::a9fe:a9fe", True),  # NAT64 around it
        ("::", True),
        ("fe80::1%1", True),
        ("10.0.0.1", False),
        ("127.0.0.1", False),
        ("::1", False),
        ("192.168.1.1", False),
        ("2001:db8::1", False),
    ],
)
def test_policy_table(address: str, refused: bool) -> None:
    ip = netpolicy.parse_ip(address)
    assert ip is not None
    assert (netpolicy.refusal(ip) is not None) == refused


async def test_body_contains_regex_and_json(web: Running) -> None:
    assert (await check(url=web.url("/ok"), contains="nominal")).status == OK
    missing = await check(url=web.url("/ok"), contains="degraded")
    assert missing.status == CRITICAL and "string 'degraded' not found" in missing.output
    assert (await check(url=web.url("/ok"), regex=r"all \w+ nominal")).status == OK
    assert (await check(url=web.url("/ok"), regex=r"^down")).status == CRITICAL
    json_url = web.url("/json")
    assert (await check(url=json_url, json_path="status.db", json_value="ok")).status == OK
    assert (await check(url=json_url, json_path="status.connections", json_value="3")).status == 0
    assert (await check(url=json_url, json_path="items.1.name", json_value="b")).status == OK
    assert (await check(url=json_url, json_path="items.0")).status == OK
    wrong = await check(url=json_url, json_path="status.db", json_value="down")
    assert wrong.status == CRITICAL and "is 'ok', expected 'down'" in wrong.output
    gone = await check(url=json_url, json_path="status.cache")
    assert gone.status == CRITICAL and "not found" in gone.output
    not_json = await check(url=web.url("/ok"), json_path="a")
    assert not_json.status == CRITICAL and "not JSON" in not_json.output


async def test_chunked_and_close_delimited_bodies(web: Running) -> None:
    chunked = await check(url=web.url("/chunked"), contains="needle")
    assert chunked.status == OK and "25 bytes" in chunked.output
    closed = await check(url=web.url("/close"), contains="needle")
    assert closed.status == OK and "HTTP/1.0 200" in closed.output


async def test_body_shorter_than_content_length_is_critical(web: Running) -> None:
    got = await check(url=web.url("/truncated"))
    assert got.status == CRITICAL and "before the response was complete" in got.output


async def test_head_and_post(web: Running) -> None:
    head = await check(url=web.url("/ok"), method="HEAD")
    assert head.status == OK and "0 bytes" in head.output
    post = await check(url=web.url("/method"), method="POST", body="a=1&b=2", contains="POST 7")
    assert post.status == OK, post.output


async def test_headers_and_basic_auth(web: Running) -> None:
    got = await check(url=web.url("/headers"), headers={"X-Probe": "yes"}, contains='"x-probe"')
    assert got.status == OK
    assert (await check(url=web.url("/auth"))).status == WARNING  # 401
    authed = await check(url=web.url("/auth"), username="monitor", password="s3cret")
    assert authed.status == OK
    assert "s3cret" not in authed.output + authed.long_output


async def test_response_time_thresholds(web: Running) -> None:
    got = await check(url=web.url("/ok"), warning="0:0.000000001", critical="10")
    assert got.status == WARNING
    assert perf(got)["time"].warn == "0:0.000000001" and perf(got)["time"].crit == "10"


async def test_huge_body_is_capped_not_read_whole(web: Running) -> None:
    got = await check(url=web.url("/huge"), contains="xxxx", timeout=10)
    assert got.status == OK
    assert "1048577+ bytes (read capped)" in got.output or "+ bytes (read capped)" in got.output
    assert perf(got)["size"].value < 2 * 1024 * 1024


@pytest.mark.slow
async def test_dripping_server_times_out_within_the_timeout(web: Running) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    got = await check(url=web.url("/drip"), timeout=1.5)
    assert got.status == CRITICAL and "timed out after 1.5 s" in got.output
    assert loop.time() - started < 2.5


async def test_malformed_http_is_critical(web: Running) -> None:
    got = await check(url=web.url("/garbage"))
    assert got.status == CRITICAL and "malformed HTTP response" in got.output


async def test_refused_port_is_critical() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    got = await check(url=f"http://127.0.0.1:{port}/")
    assert got.status == CRITICAL and "connection refused" in got.output


async def test_tls_handshake_that_stalls_times_out() -> None:
    async with serve(silent) as quiet:
        got = await check(url=quiet.url("/", scheme="https"), timeout=0.5)
    assert got.status == CRITICAL and "timed out after 0.5 s" in got.output


async def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = serve(http_app, host="::1")
        running = await server.__aenter__()
    except OSError as exc:
        pytest.skip(f"cannot bind ::1: {exc}")
    try:
        got = await check(url=running.url("/ok"))
        assert got.status == OK and "address: ::1" in got.long_output
        four = await check(url=f"http://localhost:{running.port}/ok", ip_version=4, timeout=1)
        assert four.status == CRITICAL  # nothing listens on 127.0.0.1 at that port
    finally:
        await server.__aexit__(None, None, None)


async def test_https_valid_wrong_name_self_signed_and_no_verify(tmp_path: Path, pki: Pki) -> None:
    leaf = pki.leaf("localhost", names=("localhost", "127.0.0.1"))
    cert, key = write_chain(tmp_path, "good", leaf, pki.intermediate)
    async with serve(tls_hello, ssl_ctx=server_context(str(cert), str(key))) as srv:
        url = srv.url("/", scheme="https")
        good = await check(url=url, ca_file=str(pki.root_file), contains="secure")
        assert good.status == OK, good.output
        assert "time_tls" in perf(good)
        untrusted = await check(url=url)  # system CAs do not know our test root
        assert untrusted.status == CRITICAL and "certificate" in untrusted.output
        assert (await check(url=url, verify=False)).status == OK
        other_name = f"https://localhost:{srv.port}/"
        assert (await check(url=other_name, ca_file=str(pki.root_file))).status == OK
    wrong = pki.leaf("www.example.org")
    cert, key = write_chain(tmp_path, "wrong", wrong, pki.intermediate)
    async with serve(tls_hello, ssl_ctx=server_context(str(cert), str(key))) as srv:
        got = await check(url=srv.url("/", scheme="https"), ca_file=str(pki.root_file))
        assert got.status == CRITICAL and "mismatch" in got.output.lower(), got.output


async def test_redirect_from_http_to_https_is_verified(tmp_path: Path, pki: Pki) -> None:
    """A plain-http check loads the TLS context only when a redirect leads to https: the
    certificate there is verified all the same, by the system CAs, a ca_file or not at all."""
    leaf = pki.leaf("localhost", names=("localhost", "127.0.0.1"))
    cert, key = write_chain(tmp_path, "redir", leaf, pki.intermediate)
    async with serve(tls_hello, ssl_ctx=server_context(str(cert), str(key))) as secure:
        target = secure.url("/", scheme="https")

        async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(response(301, headers={"Location": target}))
            await writer.drain()

        async with serve(redirect) as plain:
            url = plain.url("/")
            untrusted = await check(url=url)  # system CAs do not know our test root
            assert untrusted.status == CRITICAL and "certificate" in untrusted.output
            trusted = await check(url=url, ca_file=str(pki.root_file), contains="secure")
            assert trusted.status == OK and "redirects followed: 1" in trusted.long_output
            assert (await check(url=url, verify=False)).status == OK
            with pytest.raises(OptionError, match="ca_file"):  # read before the first request
                await check(url=url, ca_file=str(tmp_path / "missing.pem"))


async def test_bad_options_are_option_errors() -> None:
    with pytest.raises(OptionError):
        await check(url="http://127.0.0.1/", regex="(")
    with pytest.raises(OptionError):
        await check(url="http://127.0.0.1/", critical="x")
    with pytest.raises(OptionError):
        await check(url=None, host="")


async def test_changed_options_are_used_on_the_next_run(web: Running) -> None:
    # what a check derives from its options is kept between runs; an edit must not be missed,
    # even when the caller changes the very same dict
    options: dict[str, Any] = {"url": web.url("/ok"), "contains": "nominal"}
    assert (await HttpProbe().run(options, 5.0)).status == OK
    options["contains"] = "degraded"
    assert (await HttpProbe().run(options, 5.0)).status == CRITICAL
    options["url"] = web.url("/status/404")
    del options["contains"]
    got = await HttpProbe().run(options, 5.0)
    assert got.status == WARNING and " 404 " in got.output


async def test_options_equal_in_value_but_not_in_type_are_not_confused(web: Running) -> None:
    # 3 == 3.0 in Python, but as text they are "3" and "3.0": only the first is in the body
    json_url = web.url("/json")
    assert (await check(url=json_url, contains=3)).status == OK
    assert (await check(url=json_url, contains=3.0)).status == CRITICAL
    assert (await check(url=json_url, contains=3)).status == OK
    assert len({options_key({"a": 1}), options_key({"a": True}), options_key({"a": 1.0})}) == 3
    assert options_key({"h": {"x": [1]}}) != options_key({"h": {"x": [True]}})
    assert options_key({"s": {1, 2}}) is None  # not frozen: such options are parsed every run


async def test_bad_options_fail_on_every_run() -> None:
    for _ in range(2):  # a failure is not kept: the second run reports it again
        with pytest.raises(OptionError, match="invalid regular expression"):
            await check(url="http://127.0.0.1/", regex="(")
    for _ in range(2):
        got = await check(url="ftp://127.0.0.1/")
        assert got.status == CRITICAL and "scheme 'ftp' refused" in got.output


async def test_more_checks_than_the_memo_holds_are_each_judged_right(
    web: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    memo: OptionsMemo[Any] = OptionsMemo(size=2, max_size=2)  # never grows: evicts
    monkeypatch.setattr(http, "_PREPARED", memo)
    expected = {"/ok": OK, "/status/404": WARNING, "/status/500": CRITICAL}
    for _ in range(2):
        for path, state in expected.items():
            got = await check(url=web.url(path))
            assert got.status == state, got.output
            assert len(memo) <= 2


def test_a_read_only_view_is_found_by_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner passes each service the same MappingProxyType every run: its content is not
    walked again, a different view with other content gets its own entry, both stay bounded."""
    from types import MappingProxyType

    import augenmass.probes.base as base

    memo: OptionsMemo[str] = OptionsMemo(size=2)
    walks: list[object] = []
    real_key = base.options_key
    monkeypatch.setattr(base, "options_key", lambda o: walks.append(o) or real_key(o))
    a = MappingProxyType({"url": "http://127.0.0.1/a"})
    b = MappingProxyType({"url": "http://127.0.0.1/b"})
    assert memo.get(a, lambda: "A") == "A" and memo.get(b, lambda: "B") == "B"
    assert len(walks) == 2
    for _ in range(3):
        assert memo.get(a, lambda: "wrong") == "A" and memo.get(b, lambda: "wrong") == "B"
    assert len(walks) == 2  # found by identity
    # a plain dict (CLI, probe worker) is looked up by content, and equal content shares
    assert memo.get({"url": "http://127.0.0.1/a"}, lambda: "wrong") == "A"
    c = MappingProxyType({"url": "http://127.0.0.1/c"})
    assert memo.get(c, lambda: "C") == "C"
    assert len(memo) <= 2 and len(memo._views) <= 2


def test_under_uvloop_as_in_the_server() -> None:
    """The server runs on uvloop, whose connections differ from asyncio's: the same answers,
    and no connection left open by hostile servers."""
    import uvloop

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def scenario() -> None:
        probe = HttpProbe()
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        refused_url = f"http://127.0.0.1:{closed.getsockname()[1]}/"
        closed.close()
        async with serve(http_app) as srv, serve(silent) as quiet:
            ok = await probe.run({"url": srv.url("/ok")}, 5.0)
            assert ok.status == OK and "32 bytes" in ok.output
            assert {"time", "time_dns", "time_connect", "time_firstbyte", "size"} == {
                p.label for p in ok.perfdata
            }
            assert "address: 127.0.0.1" in ok.long_output
            stalled = await probe.run({"url": quiet.url("/")}, 0.2)
            assert stalled.status == CRITICAL and "timed out after 0.2 s" in stalled.output
            hostile = [
                ({"url": srv.url("/garbage")}, "malformed HTTP response"),
                ({"url": srv.url("/truncated")}, "before the response was complete"),
                ({"url": srv.url("/meta")}, "169.254.169.254 is a cloud metadata address"),
                ({"url": refused_url}, "connection refused"),
                ({"url": srv.url("/huge")}, "(read capped)"),  # the server sends until we close
                ({"url": srv.url("/redirect/2")}, "redirects followed: 2"),
            ]
            for options, text in hostile:
                got = await probe.run(options, 5.0)
                assert text in got.output + got.long_output, got.output
            fds = open_fds()
            batch = [probe.run(dict(o), 5.0) for _ in range(20) for o, _ in hostile]
            states = [r.status for r in await asyncio.gather(*batch)]
            assert states.count(OK) == 40 and states.count(CRITICAL) == 80
            await asyncio.sleep(0.1)  # let aborted transports finish closing
            assert open_fds() <= fds

    uvloop.run(scenario())


def _plugin_state(name: str, *args: str) -> int:
    path = PLUGINS / name
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} missing under CI (Debian monitoring-plugins)")
        pytest.skip(f"{path} not installed (Debian monitoring-plugins)")
    return subprocess.run([str(path), *args], capture_output=True, timeout=10).returncode


@pytest.mark.parametrize("plugin", ["check_http", "check_curl"])
@pytest.mark.parametrize(
    ("path", "extra", "opts"),
    [
        ("/ok", [], {}),
        ("/status/404", [], {}),
        ("/status/500", [], {}),
        ("/ok", ["-s", "degraded"], {"contains": "degraded"}),
        ("/ok", ["-s", "nominal"], {"contains": "nominal"}),
        ("/status/404", ["-e", "404"], {"status": [404]}),
        ("/redirect/2", ["-f", "follow"], {}),
    ],
)
async def test_same_state_as_the_monitoring_plugins(
    web: Running, plugin: str, path: str, extra: list[str], opts: dict[str, Any]
) -> None:
    if plugin == "check_curl" and "follow" in extra:
        pytest.skip("check_curl drops the port when following a relative redirect")
    ours = await check(url=web.url(path), **opts)
    argv = ["-H", "127.0.0.1", "-p", str(web.port), "-u", path, "-t", "5", *extra]
    theirs = await asyncio.to_thread(_plugin_state, plugin, *argv)
    assert ours.status == theirs, ours.output
