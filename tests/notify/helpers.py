"""Helpers of the notification tests: a controllable SMTP server, a manual clock, plans."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import textwrap
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from augenmass.config import load_config
from augenmass.core.plan import Plan
from augenmass.core.values import CheckKey, Event, StateType

STALL_LIMIT = 30.0  # a stalled answer never outlives a test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        # a subject longer than a line is folded right after "Subject:"; the parser keeps
        # that fold's space, a mail client does not show it
        return str(self.message["Subject"]).strip()

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        assert body is not None
        return str(body.get_content())  # type: ignore[attr-defined]

    @property
    def html(self) -> str:
        body = self.message.get_body(("html",))
        return "" if body is None else str(body.get_content())  # type: ignore[attr-defined]


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.server.attempts += 1
        mode = self.server.mode
        if mode == "421":
            return "421 4.3.2 service not available, try later"
        if mode == "550":
            return "550 5.7.1 message rejected"
        if mode == "stall":
            for _ in range(int(STALL_LIMIT / 0.05)):
                if self.server.mode != "stall":
                    break
                await asyncio.sleep(0.05)
            return "451 4.3.0 stalled"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.server.lock:
            self.server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


class MailServer:
    """mode: ok | 421 | 550 | stall; refuse() / accept() stop and restart the listener."""

    def __init__(self, port: int, **smtp_options: Any) -> None:
        self.port = port
        self.smtp_options = smtp_options  # e.g. tls_context, ssl_context, authenticator
        self.mode = "ok"
        self.attempts = 0
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def accept(self) -> None:
        if self._controller is None:
            self._controller = Controller(
                _Handler(self), hostname="127.0.0.1", port=self.port, **self.smtp_options
            )
            self._controller.start()

    def refuse(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.messages)


class ManualClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


BASE = """
notifications:
  smtp: {{host: 127.0.0.1, port: {port}, from: monitor@example.org, timeout: 5s}}
  group_wait: 0s
  group_interval: 0s
  retry_initial: 1s
  retry_max: 8s
  max_attempts: 4
  permanent_attempts: 2
contacts:
  alice: {{email: alice@example.org, language: en}}
  bob: {{email: bob@example.org, language: de}}
contact_groups:
  web-team: [alice]
  office: [bob]
hosts:
  router: {{address: 127.0.0.1}}
  printer: {{address: 127.0.0.1, parents: [router]}}
  phone1: {{address: 127.0.0.1, parents: [router]}}
  phone2: {{address: 127.0.0.1, parents: [router]}}
  phone3: {{address: 127.0.0.1, parents: [router]}}
  www1: {{address: 127.0.0.1}}
services:
  - {{name: website, host: www1, check: {{type: dummy}}, notify: [web-team]}}
  - {{name: disk, host: www1, check: {{type: dummy}}, notify: [web-team]}}
  - {{name: wlan, host: router, check: {{type: dummy}}, notify: [office]}}
"""


def write_config(tmp_path: Path, port: int, extra: str = "", base: str = BASE) -> Path:
    path = tmp_path / "augenmass.yaml"
    path.write_text(textwrap.dedent(base.format(port=port)) + textwrap.dedent(extra))
    return path


def make_plan(tmp_path: Path, port: int, extra: str = "") -> Plan:
    return load_config(write_config(tmp_path, port, extra))


def note(
    at: float,
    host: str,
    service: str | None,
    kind: str,
    state: int,
    contacts: list[str],
    output: str = "",
    number: int = 1,
) -> Event:
    return Event(
        at,
        "notification",
        CheckKey(host, service),
        state,
        StateType.HARD,
        3,
        output,
        {"type": kind, "number": number, "contacts": contacts, "contact_groups": []},
    )
