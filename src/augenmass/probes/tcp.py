"""`tcp`: connect to host:port, time the connect, close. The connect-only path is kept lean: one
non-blocking socket and loop.sock_connect, no streams; IP literals skip the resolver entirely.

A dialogue runs only when asked for (`send`, `expect`, `banner`, `quit` or `tls`), like check_tcp:
send a text, read until the expected text (substring or regex) or the first line arrives, show
the peer's first line (e-mail addresses redacted), say goodbye, close.

Options: host (default $HOSTADDRESS$), port (required), warning / critical (ranges on the
response time in seconds), send, expect (text or list), expect_regex, expect_match (any | all),
banner, quit, max_bytes, tls (+ verify, ca_file), refuse_state (default critical),
mismatch_state (default warning, as check_tcp), allow_link_local (see probes/netpolicy.py),
timeout (seconds, at most the check's timeout).
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field

from augenmass.core.clock import Clock
from augenmass.core.fields import State, Text, Threshold
from augenmass.core.options import CheckModel
from augenmass.probes import netpolicy
from augenmass.probes.base import CRITICAL, OK, NamedProbe, OptionError, ProbeOutcome
from augenmass.probes.netutil import (
    LABELS,
    TimeThresholds,
    budget,
    flag_option,
    host_option,
    port_option,
    redact,
    state_option,
    text_option,
    tls_context,
    tls_error_text,
)

_Address = tuple[int, tuple[Any, ...]]  # (family, sockaddr)
MAX_BYTES = 65536  # hard cap on what one check reads from a peer
READ_SHARE = 0.8  # of the budget spent waiting for the expected text
IDLE = 1.0  # seconds of silence after some data before judging it (the peer said all it will)


class TcpOptions(CheckModel):
    host: Text = Field(default="$HOSTADDRESS$", description="Host name or IP to connect to.")
    port: int = Field(ge=1, le=65535, description="The port to connect to.")
    warning: Threshold | None = Field(
        default=None, description="Range on the response time in seconds."
    )
    critical: Threshold | None = Field(default=None, description="Like warning, for CRITICAL.")
    send: Text | None = Field(default=None, description="Text to send after connecting.")
    expect: list[Text] | None = Field(
        default=None, description="Text (or list) the answer must contain."
    )
    expect_regex: bool = Field(
        default=False, description="The expect entries are regular expressions."
    )
    expect_match: Literal["any", "all"] = Field(
        default="any", description="any: one expect entry suffices; all: every one must match."
    )
    banner: bool = Field(default=False, description="Show the peer's first line in the output.")
    quit: Text | None = Field(default=None, description="Text to send before closing (e.g. QUIT).")
    max_bytes: int = Field(
        default=4096, ge=1, le=MAX_BYTES, description="Read at most this many bytes of the answer."
    )
    tls: bool = Field(default=False, description="Talk TLS after connecting.")
    verify: bool = Field(
        default=True, description="Verify the certificate and host name (with tls)."
    )
    ca_file: Text | None = Field(default=None, description="CA bundle instead of the system CAs.")
    refuse_state: State | None = Field(
        default=None, description="State when the connection is refused (default critical)."
    )
    mismatch_state: State | None = Field(
        default=None, description="State when the expected answer does not come (default warning)."
    )
    allow_link_local: bool = Field(
        default=False, description="Allow link-local and cloud metadata addresses."
    )


@dataclass(frozen=True, slots=True)
class _Dialogue:
    send: bytes
    expects: tuple[re.Pattern[str] | str, ...]
    match_all: bool
    banner: bool
    quit: bytes
    max_bytes: int
    tls: Any  # ssl.SSLContext | None

    @property
    def reads(self) -> bool:
        return bool(self.expects) or self.banner


class TcpProbe(NamedProbe):
    type = "tcp"
    Options = TcpOptions
    defaults: ClassVar[Mapping[str, Any]] = {"host": "$HOSTADDRESS$"}

    async def _run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        host = host_option(options)
        port = port_option(options)
        limit = budget(options.get("timeout"), timeout)
        thresholds = TimeThresholds(options)  # bad thresholds fail before any traffic
        refuse_state = state_option(options, "refuse_state", CRITICAL)
        dialogue = _dialogue(options)
        allow = flag_option(options, "allow_link_local", False)
        where = f"{host} port {port}"
        clock = self.clock
        started = clock.monotonic()
        # the read deadline bounds real waiting, so it is on real time like the timeout around it
        read_until = time.perf_counter() + limit * READ_SHARE
        try:
            async with asyncio.timeout(limit):
                if dialogue is None:
                    addresses = await netpolicy.resolve(host, port, allow)
                    elapsed = await _connect(addresses, allow, clock)
                    peer: bytes | None = None
                else:
                    # reading stops early enough to judge what came, say goodbye and close
                    peer = await _converse(host, port, allow, dialogue, read_until)
                    elapsed = clock.monotonic() - started
        except TimeoutError:
            return ProbeOutcome(CRITICAL, f"TCP CRITICAL - timed out after {limit:g} s on {where}")
        except netpolicy.AddressRefused as exc:
            return ProbeOutcome(CRITICAL, f"TCP CRITICAL - {exc}")
        except socket.gaierror as exc:
            return ProbeOutcome(CRITICAL, f"TCP CRITICAL - cannot resolve {host}: {exc.strerror}")
        except ConnectionRefusedError:
            label = LABELS[refuse_state]
            return ProbeOutcome(refuse_state, f"TCP {label} - Connection refused on {where}")
        except OSError as exc:
            text = tls_error_text(exc) if _is_tls_error(exc) else exc.strerror or str(exc)
            return ProbeOutcome(CRITICAL, f"TCP CRITICAL - {text} on {where}")
        status = thresholds.status(elapsed)
        perf = (thresholds.perf(elapsed, limit),)
        summary = f"{elapsed:.3f} second response time on {where}"
        if dialogue is None or not dialogue.reads:
            return ProbeOutcome(status, f"TCP {LABELS[status]} - {summary}", perfdata=perf)
        return _judge(dialogue, peer or b"", status, summary, perf, options)


def _dialogue(options: Mapping[str, Any]) -> _Dialogue | None:
    send = text_option(options, "send")
    expects = _expects(options)
    banner = flag_option(options, "banner", False)
    quit_text = text_option(options, "quit")
    use_tls = flag_option(options, "tls", False)
    if send is None and not expects and not banner and quit_text is None and not use_tls:
        return None  # the cheap path: connect only
    max_bytes = options.get("max_bytes", 4096)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise OptionError(f"max_bytes must be a positive number, not {max_bytes!r}")
    match = options.get("expect_match") or "any"
    if match not in ("any", "all"):
        raise OptionError(f"expect_match must be any or all, not {match!r}")
    return _Dialogue(
        send=(send or "").encode(),
        expects=expects,
        match_all=match == "all",
        banner=banner,
        quit=(quit_text + "\r\n").encode() if quit_text is not None else b"",
        max_bytes=min(max_bytes, MAX_BYTES),
        tls=tls_context(options) if use_tls else None,
    )


def _expects(options: Mapping[str, Any]) -> tuple[re.Pattern[str] | str, ...]:
    raw = options.get("expect")
    if raw is None or raw == "" or raw == []:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) and i for i in items):
        raise OptionError("expect must be a text or a list of texts")
    if not flag_option(options, "expect_regex", False):
        return tuple(items)
    try:
        # MULTILINE: `^220` and `ready$` mean a line of the reply, as a user reads it
        return tuple(re.compile(item, re.MULTILINE) for item in items)
    except re.error as exc:
        raise OptionError(f"expect is not a valid regular expression: {exc}") from None


def _found(expect: re.Pattern[str] | str, text: str) -> bool:
    return expect in text if isinstance(expect, str) else expect.search(text) is not None


def _matched(dialogue: _Dialogue, text: str) -> bool:
    hits = (_found(expect, text) for expect in dialogue.expects)
    return all(hits) if dialogue.match_all else any(hits)


def _done(dialogue: _Dialogue, data: bytes) -> bool:
    if len(data) >= dialogue.max_bytes:
        return True
    if dialogue.expects:
        return _matched(dialogue, _text(data))
    return b"\n" in data  # banner only: the first line is enough


async def _converse(
    host: str, port: int, allow: bool, dialogue: _Dialogue, deadline: float
) -> bytes:
    """What the peer sent before the dialogue was complete (empty when nothing was read)."""
    reader, writer = await netpolicy.open_connection(
        host, port, allow, ssl=dialogue.tls, server_hostname=host if dialogue.tls else None
    )
    data = b""
    try:
        if dialogue.send:
            writer.write(dialogue.send)
            await writer.drain()
        while dialogue.reads and not _done(dialogue, data):
            left = deadline - time.perf_counter()
            if data:
                left = min(left, IDLE)
            if left <= 0:
                break
            try:
                async with asyncio.timeout(left):  # not wait_for: see probes/sip.py
                    chunk = await reader.read(dialogue.max_bytes - len(data))
            except TimeoutError:
                break  # judged on what arrived; the overall deadline stays with the caller
            if not chunk:
                break
            data += chunk
        if dialogue.quit:
            writer.write(dialogue.quit)
            await writer.drain()
    finally:
        writer.close()
        try:
            async with asyncio.timeout(0.2):
                await writer.wait_closed()
        except (OSError, TimeoutError):
            pass  # the socket is closed either way; a peer not answering a TLS close is no error
    return data


def _judge(
    dialogue: _Dialogue,
    data: bytes,
    status: int,
    summary: str,
    perf: tuple[Any, ...],
    options: Mapping[str, Any],
) -> ProbeOutcome:
    text = _text(data)
    first = redact(text.split("\n", 1)[0])
    if not data:
        return ProbeOutcome(
            CRITICAL, f"TCP CRITICAL - No data received from host; {summary}", perfdata=perf
        )
    if dialogue.expects and not _matched(dialogue, text):
        state = state_option(options, "mismatch_state", 1)
        return ProbeOutcome(
            state,
            f"TCP {LABELS[state]} - Unexpected response from host: {first}",
            perfdata=perf,
        )
    shown = f" [{first}]" if first else ""
    return ProbeOutcome(status, f"TCP {LABELS[status]} - {summary}{shown}", perfdata=perf)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").replace("\r\n", "\n")


def _is_tls_error(exc: OSError) -> bool:
    import ssl

    return isinstance(exc, ssl.SSLError | ssl.CertificateError)


async def _connect(addresses: list[_Address], allow: bool, clock: Clock) -> float:
    """Seconds the first successful connect took; the last error if every address fails."""
    started = clock.monotonic()
    sock, _ = await netpolicy.connect_socket(addresses, allow)
    elapsed = clock.monotonic() - started
    sock.close()
    return elapsed


__all__ = ["OK", "TcpOptions", "TcpProbe"]
