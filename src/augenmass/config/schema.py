"""Pydantic models of the YAML sections. They only validate shapes and values; names are
cross-checked and the Plan is built in resolve.py."""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from augenmass.core.fields import (
    Duration,
    HostName,
    Name,
    NameList,
    PositiveDuration,
    State,
    Text,
)
from augenmass.core.plan import HOST_NOTIFY_ON, SERVICE_NOTIFY_ON

NotifyOn = Literal[
    "warning", "critical", "unknown", "recovery", "flapping", "downtime", "down", "unreachable"
]
assert set(NotifyOn.__args__) == HOST_NOTIFY_ON | SERVICE_NOTIFY_ON  # type: ignore[attr-defined]
NotificationType = Literal[
    "PROBLEM",
    "RECOVERY",
    "ACKNOWLEDGEMENT",
    "FLAPPINGSTART",
    "FLAPPINGSTOP",
    "DOWNTIMESTART",
    "DOWNTIMEEND",
    "DOWNTIMECANCELLED",
    "CUSTOM",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RetentionModel(Strict):
    raw: Duration | None = None
    five_minute: Duration | None = None
    hourly: Duration | None = None
    history: Duration | None = None


class StatusPageModel(Strict):
    title: Text = "Status"
    groups: list[Text] = []  # the order of the groups on the public status page


class PublicModel(Strict):
    """How a service appears on the public status page (nothing else of it is shown)."""

    name: Text = ""  # default: the service's display name or name
    group: Text = ""
    show_output: bool = False


class SettingsModel(Strict):
    max_concurrent_checks: int | None = Field(default=None, ge=1, le=100_000)
    max_check_spread: Duration | None = None
    output_limit: int | None = Field(default=None, ge=256, le=64 * 1024 * 1024)
    timezone: str = "UTC"
    plugin_dirs: list[str] | None = None
    self_metrics_interval: PositiveDuration | None = None
    probe_workers: int | None = Field(default=None, ge=0, le=64)
    retention: RetentionModel = RetentionModel()
    status_page: StatusPageModel = StatusPageModel()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"unknown time zone {value!r}: use an IANA name like Europe/Berlin"
            raise ValueError(message) from None
        return value


class EscalationModel(Strict):
    first: int = Field(default=1, ge=1)
    last: int = Field(default=0, ge=0)
    after: Duration | None = None
    notify: NameList = []
    replace: bool = True
    notification_interval: Duration | None = None


class PolicyModel(Strict):
    """Keys allowed in `defaults`, templates, hosts and services. None = not set here."""

    check_interval: PositiveDuration | None = None
    retry_interval: PositiveDuration | None = None
    max_check_attempts: int | None = Field(default=None, ge=1, le=100)
    recovery_attempts: int | None = Field(default=None, ge=1, le=100)
    active_checks: bool | None = None
    passive_checks: bool | None = None
    freshness_threshold: PositiveDuration | None = None
    check_period: Name | None = None
    volatile: bool | None = None
    flap_detection: bool | None = None
    flap_low: float | None = Field(default=None, ge=0, le=100)
    flap_high: float | None = Field(default=None, ge=0, le=100)
    notifications_enabled: bool | None = None
    notification_interval: Duration | None = None
    first_notification_delay: Duration | None = None
    notification_period: Name | None = None
    notify_on: list[NotifyOn] | None = None
    notify: NameList | None = None
    contacts: NameList | None = None
    escalations: list[EscalationModel] | None = None
    timeout: Duration | None = None
    timeout_state: State | None = None
    exit_code_state: State | None = None


class ObjectModel(PolicyModel):
    """Keys shared by templates, hosts and services."""

    use: NameList = []
    display_name: Text = ""
    groups: NameList = []
    tags: NameList = []
    vars: dict[str, Text] = {}
    check: dict[str, Any] | None = None
    public: PublicModel | bool = False  # services: shown on the public status page


class TemplateModel(ObjectModel):
    address: Text = ""
    parents: list[HostName] = []


class HostModel(ObjectModel):
    address: Text = ""
    parents: list[HostName] = []


class ApplyModel(Strict):
    """Host selector of an apply rule; every key given must match."""

    tag: Name | None = None
    group: Name | None = None
    name: Name | None = None  # glob
    all: bool = False


class ServiceModel(ObjectModel):
    name: Name
    host: HostName | None = None
    hosts: ApplyModel | None = None
    ignore: ApplyModel | None = None


class ContactModel(Strict):
    """A contact's own keys; the keys of its channels (email, webhooks, apprise …) are added
    from the channel registry (config.notifications.contact_model)."""

    language: Literal["de", "en"] = "en"
    notification_period: Name | None = None
    notify_on: list[NotifyOn] = []
    types: list[NotificationType] = []  # notification types wanted; empty = all


class RuleMatchModel(Strict):
    check_type: Name | None = None
    tag: Name | None = None
    host_group: Name | None = None
    service: Name | None = None  # glob


class RuleModel(Strict):
    match: RuleMatchModel = RuleMatchModel()
    notify: NameList


class GroupModel(Strict):
    members: NameList = []
