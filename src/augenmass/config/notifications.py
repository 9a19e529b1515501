"""The `notifications:` section (grouping, retries, templates, plus each channel's keys such as
`smtp:` and `webhooks:`), a contact's channel keys, and the checks on contacts' channels that can
only be made with it: webhook names, Apprise URLs, templates.

The channels' keys come from the channel registry (`augenmass.notify.channels.CHANNELS`): each
channel class carries its models and checks, and the models here are joined from them.

Secrets (SMTP password, webhook secrets) may be written inline, as `${ENV_VAR}`, or read from a
file (`password_file:`); they end up only in the Plan, never in a message or a log line.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import BaseModel, Field, create_model

from augenmass.config.paths import Where
from augenmass.config.schema import ContactModel, Strict
from augenmass.core.errors import ConfigProblem
from augenmass.core.fields import Delay, Interval
from augenmass.core.plan import Contact, NotificationSettings
from augenmass.notify.channels import channel_classes

M = TypeVar("M", bound=BaseModel)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class NotificationsModel(Strict):
    """The keys of `notifications:` that are not a channel's."""

    group_wait: Delay = Field(
        default=10.0,
        description=(
            "A first problem for a contact waits this long for others to go out in one message."
        ),
    )
    group_interval: Delay = Field(
        default=30.0, description="At least this long between two messages to one contact."
    )
    settle: Delay | None = Field(
        default=None,
        description=(
            "A host's DOWN or UP with services or hosts behind it waits this long (instead of "
            "group_wait) so that what is checked again at once behind it shares its message. "
            "Unset: the longest check timeout behind the host plus 5s, at most 60s."
        ),
    )
    retry_initial: Interval = Field(
        default=5.0, description="Wait after a failed send, doubling with each failure."
    )
    retry_max: Interval = Field(
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
            "Directory of own message templates (LANG/subject.j2, body.txt.j2, body.html.j2, "
            "lines.j2)."
        ),
    )
    max_output: int = Field(
        default=2000, ge=100, le=100_000, description="Characters of check output put in a message."
    )


def expand_secret(value: str, where: Where, problems: list[ConfigProblem]) -> str:
    """Expand `${ENV}`; a missing variable is a problem (naming the variable, not a value)."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            problems.append(where.problem(f"environment variable {name} is not set"))
            return ""
        return os.environ[name]

    return _ENV.sub(sub, value)


class _Report:
    """Lets a channel expand secrets and report problems while building its settings."""

    def __init__(self, places: dict[str, Where], problems: list[ConfigProblem]) -> None:
        self.places = places
        self.problems = problems

    def where(self, path: tuple[str | int, ...]) -> Where:
        key = str(path[0]) if path else ""
        return self.places.get(key, Where("", {}, ("notifications",))).at(*path)

    def secret(self, value: str, *path: str | int) -> str:
        return expand_secret(value, self.where(path), self.problems)

    def problem(self, message: str, *path: str | int) -> None:
        self.problems.append(self.where(path).problem(message))


def _joined(name: str, base: type[M], parts: Sequence[type[BaseModel]]) -> type[M]:
    """`base` plus every channel's keys; the channels' keys first, in registry order."""
    seen: dict[str, type[BaseModel]] = {}
    every: list[type[BaseModel]] = [base, *parts]
    for part in every:
        for key in part.model_fields:
            if key in seen:
                raise TypeError(f"{name}: {part.__name__} and {seen[key].__name__} both set {key}")
            seen[key] = part
    # pydantic orders fields by reversed MRO: the last base's keys come first
    bases = (base, *reversed(parts))
    return cast(type[M], create_model(name, __base__=bases, __module__=__name__))


@functools.cache
def notifications_model() -> type[NotificationsModel]:
    """The model of the whole `notifications:` section."""
    parts = [cls.SettingsKeys for cls in channel_classes()]
    return _joined("NotificationsModel", NotificationsModel, parts)


@functools.cache
def contact_model() -> type[ContactModel]:
    """The model of a contact: its own keys plus every channel's."""
    parts = [cls.ContactKeys for cls in channel_classes()]
    return _joined("ContactModel", ContactModel, parts)


def _own(model: BaseModel, part: type[BaseModel]) -> BaseModel:
    # the joined model was validated already: hand each channel its keys, not again validated
    return part.model_construct(**{key: getattr(model, key) for key in part.model_fields})


def _fields(owner: type[Any], slot: str, values: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of `owner`: the values named like one of its fields go there, the
    rest (a channel's own keys) into its mapping `slot`, so a new channel needs no new field."""
    names = {f.name for f in dataclasses.fields(owner)}
    kwargs = {key: value for key, value in values.items() if key in names}
    kwargs[slot] = {key: value for key, value in values.items() if key not in names}
    return kwargs


def contact_fields(model: BaseModel) -> dict[str, Any]:
    """Contact keyword arguments of the channels' keys of a validated `contact_model()`."""
    values: dict[str, Any] = {}
    for cls in channel_classes():
        values.update(cls.contact_fields(_own(model, cls.ContactKeys)))
    return _fields(Contact, "channel_keys", values)


def build_notifications(
    model: NotificationsModel, places: dict[str, Where], problems: list[ConfigProblem]
) -> NotificationSettings:
    """`model`: a validated `notifications_model()`; `places`: key -> the `notifications:`
    section (file, lines) that set it."""

    def at(key: str) -> Where:
        return places.get(key, Where("", {}, ("notifications",))).at(key)

    report = _Report(places, problems)
    values: dict[str, Any] = {}
    for cls in channel_classes():
        values.update(cls.settings_fields(_own(model, cls.SettingsKeys), report))
    if model.templates_dir is not None:
        from augenmass.notify.message import check_templates  # jinja2: only with own templates

        for message in check_templates(Path(model.templates_dir)):
            problems.append(at("templates_dir").problem(message))
    return NotificationSettings(
        **_fields(NotificationSettings, "channel_settings", values),
        group_wait=model.group_wait,
        group_interval=model.group_interval,
        settle=model.settle,
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
    """Each channel's checks on the contact (webhook names exist, Apprise URLs parse …)."""
    for cls in channel_classes():
        for path, message in cls.contact_problems(contact, settings):
            problems.append(where.at(*path).problem(message))
