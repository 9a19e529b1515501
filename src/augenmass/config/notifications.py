"""The `notifications:` section (SMTP, webhooks, grouping, retries, templates) and the checks
on contacts' channels that can only be made with it: webhook names, Apprise URLs, templates.

Secrets (SMTP password, webhook secrets) may be written inline, as `${ENV_VAR}`, or read from a
file (`password_file:`); they end up only in the Plan, never in a message or a log line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from augenmass.config.paths import Where
from augenmass.config.schema import _EMAIL, Strict
from augenmass.core.errors import ConfigProblem
from augenmass.core.fields import Duration, Name, PositiveDuration, Text
from augenmass.core.plan import Contact, NotificationSettings, SmtpSettings, WebhookTarget

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SmtpModel(Strict):
    host: Text = Field(default="127.0.0.1", description="The mail relay.")
    port: int = Field(
        default=25,
        ge=1,
        le=65535,
        description="Its port (587 with starttls and 465 with tls, usually).",
    )
    security: Literal["none", "starttls", "tls"] = Field(
        default="none",
        description="none, starttls (upgrade after connecting) or tls (TLS from the start).",
    )
    username: Text = Field(
        default="", description="Login user; empty: no login. ${ENV_VAR} is replaced."
    )
    password: str = Field(
        default="", description="Login password (a secret); ${ENV_VAR} is replaced."
    )
    password_file: str = Field(
        default="", description="File holding the password, instead of `password`."
    )
    from_address: str = Field(
        default="augenmass@localhost", alias="from", description="Sender address of the messages."
    )
    timeout: PositiveDuration = Field(default=30.0, description="Time limit of one delivery.")

    @field_validator("from_address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not _EMAIL.fullmatch(value):
            raise ValueError(f"invalid e-mail address {value!r}: expected local@domain")
        return value


class WebhookModel(Strict):
    url: str = Field(
        description="http(s) URL the notification is POSTed to as JSON; ${ENV_VAR} is replaced."
    )
    secret: str = Field(
        default="",
        description=(
            "Key of an HMAC-SHA256 signature header over the body; ${ENV_VAR} is replaced."
        ),
    )

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value


class NotificationsModel(Strict):
    smtp: SmtpModel | None = Field(
        default=None, description="The mail relay; without it e-mail addresses get nothing."
    )
    webhooks: dict[Name, WebhookModel] = Field(
        default={}, description="Named webhook targets; contacts list them under `webhooks`."
    )
    group_wait: Duration = Field(
        default=10.0,
        description=(
            "A first problem for a contact waits this long for others to go out in one message."
        ),
    )
    group_interval: Duration = Field(
        default=30.0, description="At least this long between two messages to one contact."
    )
    retry_initial: PositiveDuration = Field(
        default=5.0, description="Wait after a failed send, doubling with each failure."
    )
    retry_max: PositiveDuration = Field(
        default=300.0, description="Longest wait between two sends of one message."
    )
    max_attempts: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Temporary failures (no connection, 4xx) before a message is given up.",
    )
    permanent_attempts: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Permanent failures (5xx) before a message is given up.",
    )
    templates_dir: str | None = Field(
        default=None,
        description=(
            "Directory of own message templates (LANG/subject.j2, body.txt.j2, body.html.j2)."
        ),
    )
    max_output: int = Field(
        default=2000, ge=100, le=100_000, description="Characters of check output put in a message."
    )


def _secret(value: str, where: Where, problems: list[ConfigProblem]) -> str:
    """Expand `${ENV}`; a missing variable is a problem (naming the variable, not a value)."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            problems.append(where.problem(f"environment variable {name} is not set"))
            return ""
        return os.environ[name]

    return _ENV.sub(sub, value)


def _smtp(model: SmtpModel, where: Where, problems: list[ConfigProblem]) -> SmtpSettings:
    password = _secret(model.password, where.at("password"), problems)
    if model.password_file:
        if model.password:
            problems.append(where.problem("give either password or password_file, not both"))
        try:
            password = Path(model.password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.append(where.at("password_file").problem(f"cannot read: {exc.strerror}"))
    return SmtpSettings(
        host=model.host,
        port=model.port,
        security=model.security,
        username=_secret(model.username, where.at("username"), problems),
        password=password,
        from_address=model.from_address,
        timeout=model.timeout,
    )


def build_notifications(
    model: NotificationsModel, places: dict[str, Where], problems: list[ConfigProblem]
) -> NotificationSettings:
    """`places`: key -> the `notifications:` section (file, lines) that set it."""

    def at(key: str) -> Where:
        return places.get(key, Where("", {}, ("notifications",))).at(key)

    smtp = _smtp(model.smtp, at("smtp"), problems) if model.smtp is not None else None
    hooks = {
        name: WebhookTarget(
            name,
            _secret(hook.url, at("webhooks").at(name, "url"), problems),
            _secret(hook.secret, at("webhooks").at(name, "secret"), problems),
        )
        for name, hook in model.webhooks.items()
    }
    if model.templates_dir is not None:
        from augenmass.notify.message import check_templates

        for message in check_templates(Path(model.templates_dir)):
            problems.append(at("templates_dir").problem(message))
    return NotificationSettings(
        smtp=smtp,
        webhooks=hooks,
        group_wait=model.group_wait,
        group_interval=model.group_interval,
        retry_initial=model.retry_initial,
        retry_max=max(model.retry_max, model.retry_initial),
        max_attempts=model.max_attempts,
        permanent_attempts=model.permanent_attempts,
        templates_dir=model.templates_dir,
        max_output=model.max_output,
    )


def check_contact_channels(
    contact: Contact,
    settings: NotificationSettings,
    where: Where,
    problems: list[ConfigProblem],
) -> None:
    """Webhook names must exist; Apprise URLs must parse (checked with Apprise itself)."""
    for index, name in enumerate(contact.webhooks):
        if name not in settings.webhooks:
            known = ", ".join(sorted(settings.webhooks)) or "none defined"
            message = f"unknown webhook {name!r} (notifications.webhooks: {known})"
            problems.append(where.at("webhooks", index).problem(message))
    if contact.channels:
        from augenmass.notify.apprise import url_problem

        for index, url in enumerate(contact.channels):
            problem = url_problem(url)
            if problem is not None:
                problems.append(where.at("apprise", index).problem(problem))
