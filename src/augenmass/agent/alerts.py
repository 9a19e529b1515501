"""The agent's own alert channel: who hears that the server is not answering.

It must work while the server is away, so its settings live on the agent's machine, in a small
YAML file (`--alert-config`), not in the server's config. Its `smtp:` keys are the server's
`notifications.smtp` keys; delivery is the server's own e-mail and Apprise channel code.

    server_silence: 5m
    smtp: {host: mail.example.org, port: 587, security: starttls, username: office-agent,
           password_file: /etc/augenmass-agent/smtp-password, from: office-agent@example.org}
    email: [admin@example.org]
    apprise: ["ntfy://ntfy.example.org/monitoring"]
    timezone: Europe/Berlin
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from augenmass.core.duration import DurationError, parse_duration
from augenmass.core.messages import Message, Rendered
from augenmass.core.plan import Contact, SmtpSettings
from augenmass.notify.channels.apprise import AppriseChannel, url_problem
from augenmass.notify.channels.email import EmailChannel, SmtpModel, smtp_settings

log = logging.getLogger("augenmass.agent.alerts")

DEFAULT_SILENCE = 300.0
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # as in the server's config


class AlertFileError(ValueError):
    pass


class AlertsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server_silence: Any = Field(
        default="5m", description="How long the server may not answer before the alert."
    )
    smtp: SmtpModel | None = None
    email: list[str] = []
    apprise: list[str] = []
    timezone: str | None = Field(default=None, description="For the times in the alerts.")

    @field_validator("server_silence")
    @classmethod
    def _silence(cls, value: Any) -> float:
        seconds = parse_duration(value)
        if seconds <= 0:
            raise DurationError("server_silence must be longer than 0s")
        return seconds


class _Report:
    """The `SettingsReport` the e-mail channel expects: `${ENV}` expanded, problems collected."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def secret(self, value: str, *path: str | int) -> str:
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                self.problems.append(f"{_dotted(path)}: environment variable {name} is not set")
                return ""
            return os.environ[name]

        return _ENV.sub(sub, value)

    def problem(self, message: str, *path: str | int) -> None:
        self.problems.append(f"{_dotted(path)}: {message}")


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)


@dataclass(frozen=True)
class Target:
    """One place an alert goes: an e-mail address or an Apprise URL (a secret: never shown)."""

    id: str  # kept in the watch state: "email:ADDRESS" or "apprise:HASH"
    shown: str  # for the log
    contact: Contact = field(repr=False)


@dataclass(frozen=True)
class Alerts:
    silence: float
    targets: tuple[Target, ...]
    smtp: SmtpSettings | None = field(default=None, repr=False)
    tz: ZoneInfo | None = None

    async def send(self, target: Target, subject: str, text: str, thread: str) -> str:
        """Deliver to one target; the Message-ID sent. `thread`: the Message-ID this answers.
        Raises SendError."""
        message_id = f"<{uuid.uuid4().hex}@augenmass-agent>"
        message = Message(
            contact=target.contact.name,
            channel=target.id.partition(":")[0],
            entries=(),
            item_ids=(),
            message_id=message_id,
            references=(thread,) if thread else (),
        )
        rendered = Rendered(subject=subject, text=text)
        if target.contact.email:
            assert self.smtp is not None
            await EmailChannel(self.smtp).send(message, rendered, target.contact)
        else:
            await AppriseChannel().send(message, rendered, target.contact)
        return message_id


def load_alerts(path: Path, silence: float | None = None) -> Alerts:
    """The alert file, checked; `silence` (from the command line) wins over the file's.
    Raises AlertFileError with every problem, never a secret."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise AlertFileError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise AlertFileError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise AlertFileError(f"{path}: expected a mapping of keys")
    try:
        model = AlertsModel.model_validate(raw)
    except ValidationError as exc:
        found = [
            f"{_dotted(tuple(e['loc']))}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise AlertFileError(f"{path}: " + "; ".join(found)) from None
    problems: list[str] = []
    report = _Report()
    smtp = smtp_settings(model.smtp, report) if model.smtp is not None else None
    problems += report.problems
    targets: list[Target] = []
    for address in dict.fromkeys(model.email):
        if "@" not in address or any(c.isspace() for c in address):
            problems.append(f"email: invalid address {address!r}")
            continue
        targets.append(Target(f"email:{address}", address, Contact(name=address, email=address)))
    if model.email and smtp is None:
        problems.append("email: needs smtp (the mail relay)")
    for index, url in enumerate(dict.fromkeys(model.apprise)):
        problem = url_problem(url)
        if problem is not None:
            problems.append(f"apprise.{index}: {problem}")
            continue
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        shown = f"{url.split('://', 1)[0]}://..."
        targets.append(Target(f"apprise:{digest}", shown, Contact(name=shown, channels=(url,))))
    if not targets and not problems:
        problems.append("no one to alert: give email (with smtp) or apprise")
    tz = None
    if model.timezone:
        try:
            tz = ZoneInfo(model.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"timezone: unknown time zone {model.timezone!r}")
    if problems:
        raise AlertFileError(f"{path}: " + "; ".join(problems))
    if smtp is not None and smtp.username and smtp.security == "none":
        # A login over plain SMTP puts the password on the wire: never do it, say so loudly.
        log.warning(
            "smtp: a username without security starttls or tls; sending without logging in",
            extra={"relay": f"{smtp.host}:{smtp.port}"},
        )
        smtp = replace(smtp, username="", password="")
    return Alerts(
        silence=silence if silence is not None else float(model.server_silence),
        targets=tuple(targets),
        smtp=smtp,
        tz=tz,
    )
