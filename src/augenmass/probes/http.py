"""`http`: one HTTP(S) request (redirects followed), judged like check_http.

States: without `status`, 2xx/3xx are OK, 4xx WARNING, 5xx and anything else CRITICAL (as
check_http and check_curl do); with `status: [200, 301]` any other code is CRITICAL. A body
condition that fails (contains / regex / JSON path) is CRITICAL. `warning`/`critical` are ranges
on the total time in seconds. Connection, TLS and policy failures are CRITICAL with the reason.

Redirects are followed up to `max_redirects` (default 10; 0 = judge the 3xx itself); every hop is
checked against the SSRF policy on its resolved address. The body is read up to
`max_body_bytes` (1 MiB); conditions see only that much. No body text is ever put in the output.

Credentials in the URL (http://user:pw@host/) are sent as basic auth, as curl and check_http do,
and never echoed: a URL in a message is shown as http://****@host/. A redirect's Location may
not bring credentials of its own; configured ones go only to the same origin.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
import socket
import ssl
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import quote, unquote, urljoin, urlsplit

from pydantic import Field, field_validator

from augenmass.core.fields import Text, Threshold
from augenmass.core.options import CheckModel
from augenmass.core.secrets import hide_userinfo
from augenmass.core.values import PerfDatum
from augenmass.probes import httpclient, netpolicy
from augenmass.probes.base import (
    CRITICAL,
    OK,
    WARNING,
    OptionError,
    OptionsMemo,
    ProbeBase,
    ProbeOutcome,
    parse_options,
    parse_ranges,
)

_LABELS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
_CTL = re.compile(r"[\x00-\x20\x7f]")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_SAFE_PATH = "/%:@!$&'()*+,;=-._~?"
_FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}


class HttpOptions(CheckModel):
    url: Text | None = Field(
        default=None,
        description="full URL; else built from host/port/path. user:password@ in it is sent as "
        "basic auth (unless username is set) and never shown",
    )
    host: Text = Field(default="$HOSTADDRESS$", description="host name or IP when no url")
    port: int | None = Field(default=None, ge=1, le=65535, description="port when no url")
    path: Text = Field(default="/", description="path and query when no url")
    tls: bool = Field(default=False, description="https when no url")
    address: Text | None = Field(
        default=None, description="connect to this address instead of the URL's host"
    )
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE", "PATCH"] = Field(
        default="GET", description="The request method."
    )
    body: Text | None = Field(default=None, description="request body (POST)")
    headers: dict[str, Text] = Field(default_factory=dict, description="extra request headers")
    username: Text | None = Field(default=None, description="basic auth user")
    password: Text | None = Field(default=None, description="basic auth password")
    status: list[int] | None = Field(
        default=None, description="accepted status codes (default: 2xx/3xx OK, 4xx WARNING)"
    )
    contains: Text | None = Field(default=None, description="body must contain this text")
    regex: Text | None = Field(default=None, description="body must match this regex")
    json_path: Text | None = Field(default=None, description="dotted path into a JSON body")
    json_value: Text | None = Field(default=None, description="expected value at json_path")
    max_redirects: int = Field(default=10, ge=0, le=50, description="0: do not follow")
    verify: bool = Field(default=True, description="verify the TLS certificate and name")
    ca_file: Text | None = Field(default=None, description="CA bundle for verification")
    allow_link_local: bool = Field(
        default=False, description="allow link-local and cloud metadata addresses"
    )
    ip_version: Literal[4, 6] | None = Field(default=None, description="4 or 6 only")
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Read at most this much of the body.",
    )
    warning: Threshold | None = Field(default=None, description="total time range, seconds")
    critical: Threshold | None = Field(default=None, description="total time range, seconds")

    @field_validator("status")
    @classmethod
    def _codes(cls, value: list[int] | None) -> list[int] | None:
        for code in value or ():
            if not 100 <= code <= 599:
                raise ValueError(f"status code {code} is not in 100..599")
        return value

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _TOKEN.match(name):
                raise ValueError(f"invalid header name {name!r}")
            if re.search(r"[\x00-\x1f\x7f]", text):
                raise ValueError(f"header {name}: control characters or line breaks not allowed")
        return value


class HttpProbe(ProbeBase):
    type = "http"
    ends_by_timeout = True  # run(): the exchange under asyncio.timeout(timeout)
    Options = HttpOptions
    defaults: ClassVar[Mapping[str, Any]] = {"host": "$HOSTADDRESS$"}

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        try:
            prep = _PREPARED.get(options, lambda: _prepare(options))
        except netpolicy.AddressRefused as exc:
            return ProbeOutcome(CRITICAL, f"HTTP CRITICAL - {exc}")
        try:
            async with asyncio.timeout(timeout):
                return await self._exchange(prep, timeout)
        except TimeoutError:
            return ProbeOutcome(CRITICAL, f"HTTP CRITICAL - timed out after {timeout:g} s")

    async def _exchange(self, prep: _Prepared, budget: float) -> ProbeOutcome:
        req = prep.first
        wire: bytes | None = prep.wire
        timings = httpclient.Timings()
        hops = 0
        while True:
            try:
                resp = await httpclient.fetch(
                    req,
                    ctx=_redirect_context(prep) if req.scheme == "https" else None,
                    allow_link_local=prep.allow_link_local,
                    family=prep.family,
                    body_cap=prep.max_body_bytes,
                    wire=wire,
                    clock=self.clock,
                )
            except netpolicy.AddressRefused as exc:
                return _fail(f"{_where(req, hops)}{exc}")
            except socket.gaierror as exc:
                return _fail(f"{_where(req, hops)}cannot resolve {req.host}: {exc.strerror}")
            except httpclient.HttpError as exc:
                return _fail(f"{_where(req, hops)}{exc}")
            except ssl.SSLError as exc:
                return _fail(f"{_where(req, hops)}TLS: {exc.reason or exc}")
            except ConnectionRefusedError:
                return _fail(f"{_where(req, hops)}connection refused on {_hostport(req)}")
            except OSError as exc:
                return _fail(f"{_where(req, hops)}{exc.strerror or exc} on {_hostport(req)}")
            timings.add(resp.timings)
            location = resp.header("location")
            if not (300 <= resp.status < 400 and location and prep.max_redirects):
                break
            if hops >= prep.max_redirects:
                return _fail(f"too many redirects (more than {prep.max_redirects})")
            try:
                req = _follow(req, resp.status, location)
            except netpolicy.AddressRefused as exc:
                return _fail(f"redirect refused: {exc}")
            wire = None
            hops += 1
        return _judge(prep, resp, timings, budget, hops)


@dataclasses.dataclass(frozen=True, slots=True)
class _Prepared:
    """What a check derives from its options alone, the same on every run: validated once per
    options content and kept (only what a run reads, not the whole options model)."""

    first: httpclient.Request  # the request before any redirect (frozen: shared by runs)
    wire: bytes  # `first` as sent
    ctx: ssl.SSLContext | None  # for https at first, or after a redirect with a ca_file
    verify: bool  # for the context of a redirect to https without one
    family: int
    allow_link_local: bool
    max_body_bytes: int
    max_redirects: int
    status: tuple[int, ...] | None
    contains: str | None
    regex: str | None
    json_path: str | None
    json_value: str | None
    warning: str | None
    critical: str | None
    ranges: tuple[Any, Any]


# one entry per distinct options content (per host and service in the server), ~1.5 KB each
_PREPARED: OptionsMemo[_Prepared] = OptionsMemo(4096)


def _prepare(options: Mapping[str, Any]) -> _Prepared:
    # the order of the failures is part of the behaviour: option errors, then a refused URL
    # (a CRITICAL result), then an unreadable ca_file (an option error again)
    opts = _parse(options)
    ranges = _ranges(opts.warning, opts.critical)
    first = _request(opts)
    # The system CAs take 1.5 MB once loaded: a plain-http check loads them only when a redirect
    # leads to https; a ca_file is read now, so that a bad one is an option error.
    eager = first.scheme == "https" or (opts.max_redirects and opts.ca_file)
    ctx = _context(opts) if eager else None
    return _Prepared(
        first=first,
        wire=httpclient.request_bytes(first),
        ctx=ctx,
        verify=opts.verify,
        family=_FAMILIES.get(opts.ip_version or 0, socket.AF_UNSPEC),
        allow_link_local=opts.allow_link_local,
        max_body_bytes=opts.max_body_bytes,
        max_redirects=opts.max_redirects,
        status=None if opts.status is None else tuple(opts.status),
        contains=opts.contains,
        regex=opts.regex,
        json_path=opts.json_path,
        json_value=opts.json_value,
        warning=opts.warning,
        critical=opts.critical,
        ranges=ranges,
    )


def _parse(options: Mapping[str, Any]) -> HttpOptions:
    return parse_options(HttpOptions, "http", options)


def _ranges(warn: str | None, crit: str | None) -> tuple[Any, Any]:
    return parse_ranges("http", warn, crit)


def _redirect_context(prep: _Prepared) -> ssl.SSLContext:
    return prep.ctx or httpclient.tls_context(prep.verify)


def _context(opts: HttpOptions) -> ssl.SSLContext:
    try:
        return httpclient.tls_context(opts.verify, opts.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise OptionError(f"http: cannot load ca_file {opts.ca_file!r}: {exc}") from None


def _request(opts: HttpOptions) -> httpclient.Request:
    if opts.url:
        url = opts.url.strip()
    else:
        host = opts.host.strip()
        if not host:
            raise OptionError("http: no url and no host (set `url`, `host` or the address)")
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        port = f":{opts.port}" if opts.port else ""
        path = opts.path if opts.path.startswith("/") else "/" + opts.path
        url = f"{'https' if opts.tls else 'http'}://{host}{port}{path}"
    return _from_url(
        url,
        opts.method,
        _body(opts),
        headers=_headers(opts, url),
        connect_to=(opts.address or "").strip() or None,
    )


def _from_url(
    url: str,
    method: str,
    body: bytes,
    headers: tuple[tuple[str, str], ...] = (),
    connect_to: str | None = None,
) -> httpclient.Request:
    # a URL is shown without its user:password@ (used as basic auth, never echoed)
    if _CTL.search(url.replace(" ", "")):
        raise OptionError(f"http: control characters in url {hide_userinfo(url)!r}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unbalanced [ in the host
        raise OptionError(f"http: invalid url {hide_userinfo(url)!r}: {exc}") from None
    netpolicy.check_scheme(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        raise OptionError(f"http: invalid port in url {hide_userinfo(url)!r}") from None
    host = parts.hostname
    if not host:
        raise OptionError(f"http: no host in url {hide_userinfo(url)!r}")
    scheme = parts.scheme.lower()
    target = quote(parts.path or "/", safe=_SAFE_PATH)
    if parts.query:
        target += "?" + quote(parts.query, safe=_SAFE_PATH)
    return httpclient.Request(
        method=method,
        scheme=scheme,
        host=host,
        port=port or (443 if scheme == "https" else 80),
        target=target,
        headers=headers,
        body=body,
        connect_to=connect_to,
    )


def _body(opts: HttpOptions) -> bytes:
    return b"" if opts.body is None else opts.body.encode("utf-8")


def _headers(opts: HttpOptions, url: str) -> tuple[tuple[str, str], ...]:
    headers = list(opts.headers.items())
    user, password = opts.username, opts.password
    if user is None:
        # http://user:pw@host/ means basic auth, as in curl and check_http; the options win
        user, password = _url_credentials(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        headers.append(("Authorization", f"Basic {token}"))
    return tuple(headers)


def _url_credentials(url: str) -> tuple[str | None, str | None]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None, None  # reported by _from_url
    if parts.username is None:
        return None, None
    password = None if parts.password is None else unquote(parts.password)
    return unquote(parts.username), password


def _follow(req: httpclient.Request, status: int, location: str) -> httpclient.Request:
    base = f"{req.scheme}://{_hostport(req)}{req.target}"
    url = urljoin(base, location.strip())
    method, body = req.method, req.body
    if status == 303 or (status in (301, 302) and req.method == "POST"):
        method, body = ("HEAD" if req.method == "HEAD" else "GET"), b""
    new = _from_url(url, method, body)
    same_origin = (new.scheme, new.host, new.port) == (req.scheme, req.host, req.port)
    # credentials go only to the origin they were configured for (as curl does)
    private = ("authorization", "cookie")
    return dataclasses.replace(
        new,
        headers=tuple((n, v) for n, v in req.headers if same_origin or n.lower() not in private),
        connect_to=req.connect_to if same_origin else None,
    )


def _hostport(req: httpclient.Request) -> str:
    host = f"[{req.host}]" if ":" in req.host else req.host
    return f"{host}:{req.port}"


def _where(req: httpclient.Request, hops: int) -> str:
    return f"after {hops} redirect(s), {req.scheme}://{_hostport(req)}: " if hops else ""


def _fail(message: str) -> ProbeOutcome:
    return ProbeOutcome(CRITICAL, f"HTTP CRITICAL - {message}")


def _judge(
    prep: _Prepared,
    resp: httpclient.Response,
    timings: httpclient.Timings,
    budget: float,
    hops: int,
) -> ProbeOutcome:
    status, problems = _status_state(prep.status, resp.status)
    problems += _body_problems(prep, resp)
    if problems and status == OK:
        status = CRITICAL
    time_state = _evaluate(timings.total, prep.ranges)
    status = max(status, time_state)
    line = f"HTTP/{resp.version} {resp.status} {resp.reason}".rstrip()
    size = f"{resp.size}+ bytes (read capped)" if resp.truncated else f"{resp.size} bytes"
    parts = [line, *problems, f"{size} in {timings.total:.3f} second response time"]
    long_lines = [f"address: {resp.address}"]
    if hops:
        long_lines.append(f"redirects followed: {hops}")
    return ProbeOutcome(
        status=status,
        output=f"HTTP {_LABELS[status]} - " + " - ".join(parts),
        long_output="\n".join(long_lines),
        perfdata=_perfdata(prep, resp, timings, budget),
    )


def _status_state(accepted: tuple[int, ...] | None, code: int) -> tuple[int, list[str]]:
    if accepted:
        if code in accepted:
            return OK, []
        wanted = ", ".join(str(c) for c in accepted)
        return CRITICAL, [f"status {code} not in expected ({wanted})"]
    if 200 <= code < 400:
        return OK, []
    return (WARNING if 400 <= code < 500 else CRITICAL), []


def _body_problems(opts: _Prepared, resp: httpclient.Response) -> list[str]:
    if opts.contains is None and opts.regex is None and opts.json_path is None:
        return []
    text = resp.body.decode("utf-8", "replace")
    problems = []
    if opts.contains is not None and opts.contains not in text:
        problems.append(f"string {_short(opts.contains)} not found")
    if opts.regex is not None and re.search(opts.regex, text) is None:
        problems.append(f"pattern {_short(opts.regex)} not found")
    if opts.json_path is not None:
        problem = _json_problem(text, opts.json_path, opts.json_value)
        if problem:
            problems.append(problem)
    return problems


def _json_problem(text: str, path: str, expected: str | None) -> str | None:
    try:
        value: Any = json.loads(text)
    except ValueError:
        return "body is not JSON" + (" (read capped)" if text else "")
    for step in (s for s in path.strip().split(".") if s):
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif (
            isinstance(value, list)
            and step.lstrip("-").isdigit()
            and -len(value) <= int(step) < len(value)
        ):
            value = value[int(step)]
        else:
            return f"json path {_short(path)} not found"
    if expected is None or _json_equal(value, expected):
        return None
    return f"json path {_short(path)} is {_short(_json_text(value))}, expected {_short(expected)}"


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _json_equal(value: Any, expected: str) -> bool:
    if _json_text(value) == expected:
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return float(expected) == float(value)
        except ValueError:
            return False
    return False


def _short(text: str, limit: int = 60) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(text)


def _evaluate(value: float, ranges: tuple[Any, Any]) -> int:
    warn, crit = ranges
    if warn is None and crit is None:
        return OK
    from augenmass.core.thresholds import evaluate

    return int(evaluate(value, warn, crit))


def _perfdata(
    opts: _Prepared, resp: httpclient.Response, t: httpclient.Timings, budget: float
) -> tuple[PerfDatum, ...]:
    data = [
        PerfDatum("time", round(t.total, 6), "s", opts.warning, opts.critical, 0.0, budget),
        PerfDatum("time_dns", round(t.dns, 6), "s", None, None, 0.0, None),
        PerfDatum("time_connect", round(t.connect, 6), "s", None, None, 0.0, None),
    ]
    if t.tls:
        data.append(PerfDatum("time_tls", round(t.tls, 6), "s", None, None, 0.0, None))
    data.append(PerfDatum("time_firstbyte", round(t.firstbyte, 6), "s", None, None, 0.0, None))
    data.append(PerfDatum("size", float(resp.size), "B", None, None, 0.0, None))
    return tuple(data)
