"""`smtp`, `imap`, `pop3`: connect (plain or implicit TLS), read the greeting, ask for the
capabilities, optionally switch to TLS with STARTTLS and log in, say goodbye; time it all.

Privacy (reliability.md §4.2): only the connect, greeting, capability, STARTTLS and login
results and the timing are recorded. Anything taken from the peer has e-mail addresses redacted,
and the password never appears in an output, note or error, even when a server echoes it.

Options: host (default $HOSTADDRESS$), port (default by protocol and TLS), tls (none | starttls |
implicit), verify (true), ca_file, user, password (a secret), helo (smtp), mismatch_state (state
for a greeting that is not "ready", WARNING as in check_smtp/check_imap/check_pop), warning /
critical (total response time, s), timeout. STARTTLS asked for but not offered is WARNING, as
check_smtp -S; refused connections, timeouts, TLS failures, bad logins are CRITICAL.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import Field

from augenmass.core.fields import State, Text, Threshold
from augenmass.core.options import CheckModel
from augenmass.probes import netpolicy
from augenmass.probes.base import CRITICAL, OK, WARNING, NamedProbe, OptionError, ProbeOutcome
from augenmass.probes.netutil import (
    LABELS,
    TimeThresholds,
    budget,
    flag_option,
    host_option,
    os_error_text,
    port_option,
    redact,
    state_option,
    text_option,
    tls_context,
    tls_error_text,
)
from augenmass.probes.starttls import INJECTION, pending_plaintext

LINE_LIMIT = 4096  # bytes in one reply line
REPLY_LINES = 200  # lines in one multi-line reply (capability lists are short)


class MailOptions(CheckModel):
    host: Text = Field(default="$HOSTADDRESS$", description="The server to connect to.")
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Its port (default by protocol and tls: 25/465, 143/993, 110/995).",
    )
    tls: Literal["none", "starttls", "implicit"] = Field(
        default="none",
        description=(
            "none, starttls (upgrade after the greeting) or implicit (TLS from the start)."
        ),
    )
    verify: bool = Field(default=True, description="Verify the certificate and host name.")
    ca_file: Text | None = Field(default=None, description="CA bundle instead of the system CAs.")
    user: Text | None = Field(default=None, description="Log in as this user.")
    password: Text | None = Field(
        default=None, description="Password of user (a secret: never shown)."
    )
    mismatch_state: State | None = Field(
        default=None, description="State when the greeting is not 'ready' (default warning)."
    )
    warning: Threshold | None = Field(
        default=None, description="Range on the total response time in seconds."
    )
    critical: Threshold | None = Field(default=None, description="Like warning, for CRITICAL.")
    allow_link_local: bool = Field(
        default=False, description="Allow link-local and cloud metadata addresses."
    )


class SmtpOptions(MailOptions):
    helo: Text = Field(default="augenmass.invalid", description="Name sent with EHLO.")


class Failure(Exception):
    """A protocol step failed; the message is safe to show (already redacted)."""

    def __init__(self, message: str, state: int = CRITICAL) -> None:
        super().__init__(message)
        self.state = state


def _no_starttls(name: str = "STARTTLS") -> Failure:
    # WARNING, as check_smtp -S says "TLS not supported by server": the service works, only
    # the protection asked for is missing
    return Failure(f"{name} not offered", WARNING)


async def _goodbye(step: Awaitable[Any]) -> None:
    """QUIT / LOGOUT is courtesy: a server that closes or mumbles instead fails nothing."""
    try:
        async with asyncio.timeout(1.0):
            await step
    except (Failure, OSError, TimeoutError):
        pass


@dataclass(slots=True)
class _Session:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    secrets: tuple[str, ...]
    host: str
    mismatch: int  # state for a greeting that is not the protocol's "ready"
    steps: list[str] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)

    async def send(self, line: str) -> None:
        self.writer.write(line.encode() + b"\r\n")
        await self.writer.drain()

    async def line(self, waiting_for: str) -> str:
        try:
            raw = await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            raise Failure(
                f"connection closed by the server while waiting for {waiting_for}"
            ) from exc
        except (asyncio.LimitOverrunError, ValueError) as exc:
            raise Failure(f"reply line too long while waiting for {waiting_for}") from exc
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def shown(self, text: str) -> str:
        return redact(text, self.secrets)

    async def start_tls(self, context: ssl.SSLContext) -> None:
        if pending_plaintext(self.reader):
            raise Failure(INJECTION)
        await self.writer.start_tls(context, server_hostname=self.host)


class _MailProbe(NamedProbe):
    label: ClassVar[str]
    ports: ClassVar[tuple[int, int]]  # plain, implicit TLS
    defaults: ClassVar[Mapping[str, Any]] = {"host": "$HOSTADDRESS$"}

    async def _run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        host = host_option(options)
        mode = str(options.get("tls") or "none").lower()
        if mode not in ("none", "starttls", "implicit"):
            raise OptionError(f"tls must be none, starttls or implicit, not {mode!r}")
        port = port_option(options, self.ports[mode == "implicit"])
        user, password = text_option(options, "user"), text_option(options, "password")
        if (user is None) != (password is None):
            raise OptionError("set both user and password to log in, or neither")
        context = tls_context(options) if mode != "none" else None
        thresholds = TimeThresholds(options)
        mismatch = state_option(options, "mismatch_state", WARNING)
        limit = budget(options.get("timeout"), timeout)
        allow = flag_option(options, "allow_link_local", False)
        where = f"{host} port {port}"
        secrets = (password,) if password else ()
        started = self.clock.monotonic()
        session: _Session | None = None
        try:
            async with asyncio.timeout(limit):
                reader, writer = await netpolicy.open_connection(
                    host,
                    port,
                    allow,
                    ssl=context if mode == "implicit" else None,
                    server_hostname=host if mode == "implicit" else None,
                    limit=LINE_LIMIT,
                )
                session = _Session(reader, writer, secrets, host, mismatch)
                await self.converse(session, options, context if mode == "starttls" else None)
        except TimeoutError:
            step = f" ({session.steps[-1]} done)" if session and session.steps else ""
            return self._critical(f"timed out after {limit:g} s on {where}{step}")
        except netpolicy.AddressRefused as exc:
            return self._critical(str(exc))
        except Failure as exc:
            text = f"{self.label} {LABELS[exc.state]} - {exc} on {where}"
            return ProbeOutcome(exc.state, text)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            return self._critical(f"{tls_error_text(exc)} on {where}")
        except OSError as exc:
            return self._critical(f"{os_error_text(exc)} on {where}")
        finally:
            if session is not None:
                await _close(session.writer)
        elapsed = self.clock.monotonic() - started
        status = thresholds.status(elapsed)
        steps = ", ".join(session.steps)
        caps = " ".join(session.capabilities)
        summary = f"{elapsed:.3f} second response time on {where}, {steps}"
        return ProbeOutcome(
            status,
            f"{self.label} {LABELS[status]} - {summary}",
            f"capabilities: {caps}" if caps else "",
            (thresholds.perf(elapsed, limit),),
        )

    def _critical(self, reason: str) -> ProbeOutcome:
        return ProbeOutcome(CRITICAL, f"{self.label} CRITICAL - {reason}")

    async def converse(
        self, session: _Session, options: Mapping[str, Any], starttls: ssl.SSLContext | None
    ) -> None:
        raise NotImplementedError


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        async with asyncio.timeout(0.2):
            await writer.wait_closed()
    except (OSError, TimeoutError, ssl.SSLError):
        pass  # closed either way; a peer that ignores the TLS close is no error of the check


class SmtpProbe(_MailProbe):
    type = "smtp"
    label = "SMTP"
    ports = (25, 465)
    Options = SmtpOptions

    async def converse(
        self, session: _Session, options: Mapping[str, Any], starttls: ssl.SSLContext | None
    ) -> None:
        code, lines = await _smtp_reply(session, "the greeting")
        if code != 220:
            raise Failure(f"server greeted with {code} {session.shown(lines[0])}", session.mismatch)
        session.steps.append(f"greeting {code} {session.shown(lines[0])}")
        helo = str(options.get("helo") or "augenmass.invalid")
        if any(c in helo for c in "\r\n"):
            raise OptionError("helo must be one line")
        await self._ehlo(session, helo)
        if starttls is not None:
            if "STARTTLS" not in session.capabilities:
                raise _no_starttls()
            await session.send("STARTTLS")
            code, lines = await _smtp_reply(session, "the STARTTLS answer")
            if code != 220:
                raise Failure(f"STARTTLS refused: {code} {session.shown(lines[0])}")
            await session.start_tls(starttls)
            session.steps.append("STARTTLS ok")
            await self._ehlo(session, helo)
        user, password = text_option(options, "user"), text_option(options, "password")
        if user is not None and password is not None:
            await self._login(session, user, password)
        await session.send("QUIT")
        await _goodbye(_smtp_reply(session, "the QUIT answer"))

    async def _ehlo(self, session: _Session, helo: str) -> None:
        await session.send(f"EHLO {helo}")
        code, lines = await _smtp_reply(session, "the EHLO answer")
        if code != 250:
            raise Failure(f"EHLO refused: {code} {session.shown(lines[0])}")
        session.capabilities = [session.shown(line).upper() for line in lines[1:]]

    async def _login(self, session: _Session, user: str, password: str) -> None:
        mechanisms = next(
            (c.split()[1:] for c in session.capabilities if c.startswith("AUTH ")), []
        )
        if "PLAIN" in mechanisms:
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            session.secrets += (token,)  # a server echoing the token would show the password
            await session.send(f"AUTH PLAIN {token}")
            code, lines = await _smtp_reply(session, "the login answer")
        elif "LOGIN" in mechanisms:
            code, lines = await self._auth_login(session, user, password)
        else:
            raise Failure("login not possible: the server offers no AUTH PLAIN or LOGIN")
        if code != 235:
            raise Failure(f"login failed: {code} {session.shown(lines[0])}")
        session.steps.append("login ok")

    async def _auth_login(
        self, session: _Session, user: str, password: str
    ) -> tuple[int, list[str]]:
        """AUTH LOGIN: two 334 prompts, then the verdict (or an early refusal)."""
        secret = base64.b64encode(password.encode()).decode()
        session.secrets += (secret,)
        await session.send("AUTH LOGIN")
        for answer in (base64.b64encode(user.encode()).decode(), secret):
            code, lines = await _smtp_reply(session, "the AUTH LOGIN prompt")
            if code != 334:
                return code, lines
            await session.send(answer)
        return await _smtp_reply(session, "the login answer")


async def _smtp_reply(session: _Session, waiting_for: str) -> tuple[int, list[str]]:
    """Code and text lines of one (multi-line) SMTP reply."""
    lines: list[str] = []
    for _ in range(REPLY_LINES):
        line = await session.line(waiting_for)
        head = line[:3]
        if len(line) < 3 or not head.isdigit() or (len(line) > 3 and line[3] not in " -"):
            raise Failure(
                f"unexpected reply while waiting for {waiting_for}: {session.shown(line)}"
            )
        lines.append(line[4:])
        if line[3:4] != "-":
            return int(head), lines
    raise Failure(f"reply longer than {REPLY_LINES} lines while waiting for {waiting_for}")


class ImapProbe(_MailProbe):
    type = "imap"
    label = "IMAP"
    ports = (143, 993)
    Options = MailOptions

    async def converse(
        self, session: _Session, options: Mapping[str, Any], starttls: ssl.SSLContext | None
    ) -> None:
        greeting = await session.line("the greeting")
        if not greeting.upper().startswith(("* OK", "* PREAUTH")):
            raise Failure(f"server greeted with {session.shown(greeting)}", session.mismatch)
        session.steps.append(f"greeting {session.shown(greeting[2:])}")
        await self._capability(session, "a1")
        if starttls is not None:
            if "STARTTLS" not in session.capabilities:
                raise _no_starttls()
            await session.send("a2 STARTTLS")
            _untagged, done = await _imap_reply(session, "a2", "the STARTTLS answer")
            if not done.upper().startswith("OK"):
                raise Failure(f"STARTTLS refused: {session.shown(done)}")
            await session.start_tls(starttls)
            session.steps.append("STARTTLS ok")
            await self._capability(session, "a3")
        user, password = text_option(options, "user"), text_option(options, "password")
        if user is not None and password is not None:
            await session.send(f"a4 LOGIN {_quoted(user)} {_quoted(password)}")
            _untagged, done = await _imap_reply(session, "a4", "the login answer")
            if not done.upper().startswith("OK"):
                raise Failure(f"login failed: {session.shown(done)}")
            session.steps.append("login ok")
        await session.send("a5 LOGOUT")
        await _goodbye(_imap_reply(session, "a5", "the LOGOUT answer"))

    async def _capability(self, session: _Session, tag: str) -> None:
        await session.send(f"{tag} CAPABILITY")
        untagged, done = await _imap_reply(session, tag, "the CAPABILITY answer")
        if not done.upper().startswith("OK"):
            raise Failure(f"CAPABILITY refused: {session.shown(done)}")
        for line in untagged:
            if line.upper().startswith("* CAPABILITY "):
                session.capabilities = [session.shown(c).upper() for c in line.split()[2:]]


def _quoted(text: str) -> str:
    if any(c in text for c in "\r\n\0"):
        raise OptionError("user and password must be one line")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def _imap_reply(session: _Session, tag: str, waiting_for: str) -> tuple[list[str], str]:
    """Untagged lines and the text after the tag of the tagged completion."""
    untagged: list[str] = []
    for _ in range(REPLY_LINES):
        line = await session.line(waiting_for)
        if line.startswith(f"{tag} "):
            return untagged, line[len(tag) + 1 :]
        if line.upper().startswith("* BYE"):
            raise Failure(f"server said goodbye while waiting for {waiting_for}")
        if not line.startswith(("* ", "+ ")):
            raise Failure(
                f"unexpected reply while waiting for {waiting_for}: {session.shown(line)}"
            )
        untagged.append(line)
    raise Failure(f"reply longer than {REPLY_LINES} lines while waiting for {waiting_for}")


class Pop3Probe(_MailProbe):
    type = "pop3"
    label = "POP3"
    ports = (110, 995)
    Options = MailOptions

    async def converse(
        self, session: _Session, options: Mapping[str, Any], starttls: ssl.SSLContext | None
    ) -> None:
        greeting = await session.line("the greeting")
        if not greeting.startswith("+OK"):
            raise Failure(f"server greeted with {session.shown(greeting)}", session.mismatch)
        session.steps.append(f"greeting {session.shown(greeting)}")
        await self._capa(session)
        if starttls is not None:
            if "STLS" not in session.capabilities:
                raise _no_starttls("STARTTLS (STLS)")
            answer = await _pop_command(session, "STLS", "the STLS answer")
            if not answer.startswith("+OK"):
                raise Failure(f"STARTTLS refused: {session.shown(answer)}")
            await session.start_tls(starttls)
            session.steps.append("STARTTLS ok")
            await self._capa(session)
        user, password = text_option(options, "user"), text_option(options, "password")
        if user is not None and password is not None:
            if any(c in user + password for c in "\r\n\0"):
                raise OptionError("user and password must be one line")
            answer = await _pop_command(session, f"USER {user}", "the USER answer")
            if answer.startswith("+OK"):
                answer = await _pop_command(session, f"PASS {password}", "the PASS answer")
            if not answer.startswith("+OK"):
                raise Failure(f"login failed: {session.shown(answer)}")
            session.steps.append("login ok")
        await _goodbye(_pop_command(session, "QUIT", "the QUIT answer"))

    async def _capa(self, session: _Session) -> None:
        answer = await _pop_command(session, "CAPA", "the CAPA answer")
        if not answer.startswith("+OK"):
            session.capabilities = []  # CAPA is optional in POP3 (RFC 2449)
            return
        caps: list[str] = []
        for _ in range(REPLY_LINES):
            line = await session.line("the CAPA list")
            if line == ".":
                session.capabilities = caps
                return
            caps.append(session.shown(line).upper())
        raise Failure(f"CAPA list longer than {REPLY_LINES} lines")


async def _pop_command(session: _Session, command: str, waiting_for: str) -> str:
    await session.send(command)
    answer = await session.line(waiting_for)
    if not answer.startswith(("+OK", "-ERR")):
        raise Failure(f"unexpected reply while waiting for {waiting_for}: {session.shown(answer)}")
    return answer


__all__ = ["OK", "ImapProbe", "MailOptions", "Pop3Probe", "SmtpOptions", "SmtpProbe"]
