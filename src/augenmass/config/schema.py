"""Pydantic models of the YAML sections. They only validate shapes and values; names are
cross-checked and the Plan is built in resolve.py."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from augenmass.core.fields import (
    Delay,
    Freshness,
    HostName,
    Interval,
    KeepFor,
    Name,
    NameList,
    Repeat,
    ShownText,
    State,
    Text,
    Timeout,
)
from augenmass.core.plan import HOST_NOTIFY_ON, SERVICE_NOTIFY_ON, HttpSettings

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
    raw: KeepFor | None = Field(
        default=None, description="How long raw performance data points are kept."
    )
    five_minute: KeepFor | None = Field(
        default=None, description="How long the 5-minute roll-ups of performance data are kept."
    )
    hourly: KeepFor | None = Field(
        default=None, description="How long the hourly roll-ups of performance data are kept."
    )
    history: KeepFor | None = Field(
        default=None, description="How long state history events are kept."
    )
    notification_log: KeepFor | None = Field(
        default=None,
        description="How long the notification log and sent or failed outbox rows are kept "
        "(pending notifications are never pruned).",
    )
    audit_log: KeepFor | None = Field(
        default=None,
        description="How long the audit log of operator actions is kept.",
    )


class StatusPageModel(Strict):
    title: Text = Field(default="Status", description="Title of the public status page at /status.")
    note: Text = Field(
        default="",
        max_length=1000,
        description=(
            "A short note from the team shown at the top of the page, e.g. what is being done"
            " about an outage (plain text; a reload shows a new one)."
        ),
    )
    groups: list[Text] = Field(
        default=[],
        description=(
            "Order of the groups on the public status page (see a service's `public.group`)."
        ),
    )


class PublicModel(Strict):
    """How a service appears on the public status page (nothing else of it is shown)."""

    name: ShownText = Field(
        default="",
        description=(
            "Name shown (default: the service's display name or name). $HOSTDISPLAYNAME$ and"
            " $HOSTNAME$ name the host, so one rule over many hosts gives each its own name;"
            " names must differ within a group."
        ),
    )
    group: Text = Field(
        default="",
        description="Group it is listed under (ordered by settings.status_page.groups).",
    )
    show_output: bool = Field(
        default=False, description="Also show the check's output (else only the state)."
    )


class HttpModel(Strict):
    """The --listen listener: HTTPS, the session cookie and a reverse proxy in front."""

    tls_cert: str | None = Field(
        default=None,
        description=(
            "Absolute path of the PEM certificate (chain) for HTTPS on --listen; needs"
            " `tls_key`. Re-read on reload (SIGHUP, `augenmass reload`): a renewed certificate"
            " is served to new connections without a restart; a bad one is logged and the old"
            " one kept. Not set: plain http."
        ),
    )
    tls_key: str | None = Field(
        default=None, description="Absolute path of the PEM private key of `tls_cert`."
    )
    cookie_secure: bool = Field(
        default=True,
        description=(
            "Mark the session cookie Secure (sent over https only). Browsers also send it to"
            " http://localhost and 127.0.0.1, but not to plain http on another name or address:"
            " there use `tls_cert`/`tls_key` or a reverse proxy with HTTPS, or set false for a"
            " trusted LAN only (the cookie then travels unencrypted)."
        ),
    )
    trusted_proxies: list[str] = Field(
        default=[],
        max_length=64,
        description=(
            "Addresses or networks (CIDR) of reverse proxies in front of the server, e.g."
            " [127.0.0.1]. Only from these are X-Forwarded-For (the client, used in memory by"
            " the login throttle, never stored or logged) and X-Forwarded-Proto (https: Secure"
            " cookies and redirects) believed. Default: none, the headers are ignored."
        ),
    )
    max_connections: int = Field(
        default=2000,
        ge=16,
        le=100_000,
        description=(
            "HTTP connections open at once. Past it, the connection idle the longest (no"
            " request in progress) is closed for the new one; idle and slow clients never"
            " block the others. A request head must arrive within 10 s, an idle keep-alive"
            " connection is closed after 5 s."
        ),
    )

    @field_validator("tls_cert", "tls_key")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("an absolute path (starting with /)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (CIDR), e.g. 127.0.0.1 or 10.0.0.0/8"
                ) from None
        return value

    @model_validator(mode="after")
    def _pair(self) -> HttpModel:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("set both tls_cert and tls_key, or neither")
        return self

    def to_settings(self) -> HttpSettings:
        return HttpSettings(
            tls_cert=self.tls_cert,
            tls_key=self.tls_key,
            cookie_secure=self.cookie_secure,
            trusted_proxies=tuple(self.trusted_proxies),
            max_connections=self.max_connections,
        )


class SettingsModel(Strict):
    max_concurrent_checks: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description=(
            "Plugin checks (processes) running at the same time, at most. Built-in probes get"
            " slots sized from the rate the configuration asks for (0.25 s of it, at least this"
            " many, at most 8192 checks in flight in all)."
        ),
    )
    max_check_spread: Delay | None = Field(
        default=None,
        description=(
            "First checks after a start are spread over the check interval, at most this long."
        ),
    )
    output_limit: int | None = Field(
        default=None,
        ge=256,
        le=64 * 1024 * 1024,
        description="Bytes of a plugin's output that are read; the rest is cut.",
    )
    timezone: str = Field(
        default="UTC",
        description=(
            "IANA time zone of time periods and of times in notifications, e.g. Europe/Berlin."
        ),
    )
    base_url: str | None = Field(
        default=None,
        description=(
            "Address at which people reach the web UI, with the path a proxy serves it under,"
            " e.g. https://monitor.example.org. Each notification then links to its check's"
            " page there (mails, webhooks); not set: no links."
        ),
    )
    plugin_dirs: list[str] | None = Field(
        default=None, description="Where a plugin named without a slash is looked up, before $PATH."
    )
    self_metrics_interval: Interval | None = Field(
        default=None,
        description=(
            "How often the scheduler's own figures (lateness, checks run) are"
            " stored as performance data."
        ),
    )
    probe_workers: int | None = Field(
        default=None,
        ge=0,
        le=64,
        description=(
            "Most processes that run built-in probes beside the server's loop. One is"
            " started when first needed (the loop is busy, or a probe keeps counters between"
            " runs) and ended after 5 minutes without a job; not set: one per CPU beyond"
            " the first (at most 4); 0: all in the server's loop."
        ),
    )
    disk_reserve_mb: int | None = Field(
        default=None,
        ge=0,
        le=4096,
        description=(
            "MiB held back in the data directory (augenmass.reserve) and given up when the"
            " disk is full, so that what waits in memory can still be written; 0: none."
            " Default 32."
        ),
    )
    retention: RetentionModel = Field(
        default=RetentionModel(), description="How long stored data is kept."
    )
    passive_max_age: Freshness | None = Field(
        default=None,
        description=(
            "How old a passive result's start time (`execution_start`) may be; an older one is"
            " refused (422) and nothing of it is stored. An agent that buffers results while it"
            " cannot reach the server sends them late: keep this longer than its longest"
            " expected outage, and no longer than `retention.raw` (older points would be pruned"
            " at once)."
        ),
    )
    passive_max_future: Delay | None = Field(
        default=None,
        description=(
            "How far in the future a passive result's start time may lie (clock skew of the"
            " sender); such a result counts as started now. Beyond it the result is refused"
            " (422) and nothing of it is stored."
        ),
    )
    max_series_per_check: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description=(
            "Performance-data labels (series) kept per check. Values of further new labels are"
            " dropped and counted (`/api/health`, `/metrics`), with one warning per check."
            " A series without data for longer than the longest retention is removed."
        ),
    )
    status_page: StatusPageModel = Field(
        default=StatusPageModel(),
        description="The public status page at /status (only services marked `public`).",
    )
    http: HttpModel = Field(
        default=HttpModel(),
        description="The web listener (--listen): HTTPS, session cookie, reverse proxy.",
    )
    default_host_check: dict[str, Any] | Literal["none", False] | None = Field(
        default=None,
        description=(
            "The check of every host that sets no `check:` (itself or from a template): a"
            " check mapping as under a host's `check:`. Built in: a ping (icmp) as lenient as"
            " Nagios's check-host-alive, the host is UP when one of 3 echo requests is answered"
            " within 1 s. `none`: such hosts have no check and are assumed UP, so hosts"
            " behind them never become UNREACHABLE. A host opts out with `check: none`."
        ),
    )

    @field_validator("default_host_check", mode="before")
    @classmethod
    def _check_or_none(cls, value: Any) -> Any:
        return _check_or_none(value, "`none` or false (no default)", false_too=True)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"unknown time zone {value!r}: use an IANA name like Europe/Berlin"
            raise ValueError(message) from None
        return value

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = base_url_problem(value)
        if problem is not None:
            raise ValueError(f"invalid base_url: {problem}")  # not echoed: may hold a password
        return value.rstrip("/")  # page paths are appended with their own '/'


NO_CHECK = "none"


def _check_or_none(value: Any, off: str, false_too: bool = False) -> Any:
    # one clear message instead of one per branch of the union
    if value is None or value == NO_CHECK or isinstance(value, dict):
        return value
    if value is False and false_too:
        return value
    raise ValueError(f"expected a check mapping with a `type` (e.g. {{type: icmp}}), or {off}")


_NOT_IN_URLS = frozenset('"<>\\^`{|}')


def base_url_problem(value: str) -> str | None:
    """Why `value` cannot be the web UI's address in a link, or None."""
    if not value or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "an http(s) address without spaces, e.g. https://monitor.example.org"
    if any(ch in _NOT_IN_URLS for ch in value):
        return 'percent-encode the characters a URL cannot hold (" < > \\ ^ ` { | })'
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "use http:// or https:// and a host, e.g. https://monitor.example.org"
    if parts.username is not None or parts.password is not None:
        return "no user or password in it: it is written into every notification"
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        return "no query (?) or fragment (#): the check's page path is appended"
    return None


class EscalationModel(Strict):
    first: int = Field(
        default=1, ge=1, description="First notification number this escalation applies to."
    )
    last: int = Field(
        default=0, ge=0, description="Last notification number it applies to; 0: no end."
    )
    after: Repeat | None = Field(
        default=None,
        description="Or: applies once this long has passed since the HARD problem began.",
    )
    notify: NameList = Field(default=[], description="Contact groups notified while it applies.")
    replace: bool = Field(
        default=True,
        description="true: instead of the object's contacts; false: in addition to them.",
    )
    notification_interval: Repeat | None = Field(
        default=None, description="Repeat interval while it applies (default: the object's)."
    )


class PolicyModel(Strict):
    """Keys allowed in `defaults`, templates, hosts and services. None = not set here."""

    check_interval: Interval | None = Field(
        default=None,
        description="Time between checks while the state is OK or a confirmed (HARD) problem.",
    )
    retry_interval: Interval | None = Field(
        default=None, description="Time between checks while a problem is being confirmed (SOFT)."
    )
    max_check_attempts: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="Results in a row a problem needs to become HARD (and be notified).",
    )
    recovery_attempts: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="OK results in a row a HARD problem needs to count as recovered.",
    )
    active_checks: bool | None = Field(
        default=None,
        description="Run the check on its schedule; false: only passive results count.",
    )
    passive_checks: bool | None = Field(
        default=None,
        description=(
            "Accept results submitted from outside (API, `augenmass submit`, the command spool)."
            " Not set: only when `active_checks` is false, so a submit token cannot overwrite"
            " what the server checks itself."
        ),
    )
    freshness_threshold: Freshness | None = Field(
        default=None, description="Passive checks: run the check when no result came for this long."
    )
    expect_every: Freshness | None = Field(
        default=None,
        description=(
            "Dead-man check (cron jobs): a passive result or ping is expected this often; when"
            " none came for `expect_every` + `grace`, the state becomes `missing_state`."
            " Implies `active_checks: false`; needs no `check`."
        ),
    )
    grace: Repeat | None = Field(
        default=None, description="Dead-man check: extra time allowed after `expect_every`."
    )
    missing_state: State | None = Field(
        default=None,
        description="Dead-man check: the state when no result came in time (default CRITICAL).",
    )
    check_period: Name | None = Field(
        default=None,
        description=(
            "Time period in which the check runs; a check due outside it waits for the period's"
            ' next start ("check now" runs it anyway). Not applied to agents\' checks.'
        ),
    )
    volatile: bool | None = Field(
        default=None,
        description="Every problem result notifies, not only a change (like Nagios is_volatile).",
    )
    flap_detection: bool | None = Field(
        default=None,
        description=(
            "Detect flapping (frequent state changes) and hold problem "
            "notifications while it lasts."
        ),
    )
    flap_low: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Flapping ends when the percent of state changes falls below this.",
    )
    flap_high: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Flapping starts when the percent of state changes rises above this.",
    )
    notifications_enabled: bool | None = Field(
        default=None, description="Send notifications for this object at all."
    )
    notification_interval: Repeat | None = Field(
        default=None,
        description="Repeat the notification this often while a problem lasts; 0: notify once.",
    )
    first_notification_delay: Delay | None = Field(
        default=None,
        description="Wait this long after a problem became HARD before the first notification.",
    )
    notification_period: Name | None = Field(
        default=None,
        description="Time period in which notifications are sent; outside it they wait.",
    )
    notify_on: list[NotifyOn] | None = Field(
        default=None,
        description=(
            "Kinds of notification sent: down, unreachable (hosts); warning, "
            "critical, unknown (services); recovery, flapping, downtime. Not set: all."
        ),
    )
    notify: NameList | None = Field(default=None, description="Contact groups notified.")
    contacts: NameList | None = Field(
        default=None, description="Contacts notified besides the groups."
    )
    escalations: list[EscalationModel] | None = Field(
        default=None, description="Other contact groups from some notification number or time on."
    )
    timeout: Timeout | None = Field(default=None, description="Time limit of the check.")
    timeout_state: State | None = Field(
        default=None, description="State of a check that ran out of time."
    )
    exit_code_state: State | None = Field(
        default=None, description="State of a plugin that cannot be run or exits outside 0..3."
    )


class ObjectModel(PolicyModel):
    """Keys shared by templates, hosts and services."""

    use: NameList = Field(
        default=[], description="Templates to take keys from; the left-most wins."
    )
    display_name: ShownText = Field(
        default="", description="Name shown in the UI and in notifications (default: the name)."
    )
    groups: NameList = Field(
        default=[],
        description=(
            "Groups it belongs to (views; apply and notification rules select hosts by group)."
        ),
    )
    tags: NameList = Field(
        default=[], description="Free labels; apply rules and notification rules select by tag."
    )
    vars: dict[str, Text] = Field(
        default={},
        description=(
            "Custom variables, used in checks as macros ($_HOSTNAME$, $_SERVICENAME$ or $name$)."
        ),
    )
    check: dict[str, Any] | None = Field(
        default=None, description="What to run: `type` and that type's options."
    )
    public: PublicModel | bool = Field(
        default=False,
        description=(
            "Services: show on the public status page (true, or a mapping "
            "with name, group, show_output)."
        ),
    )


_HOST_CHECK_TEXT = (
    "What to run: `type` and that type's options. Hosts: not set, the host is checked by"
    " `settings.default_host_check` (a ping); `none`: no check, the host is assumed UP."
)
ZONE_KEY_TEXT = (
    "Hosts: the zone (a name under `cluster.zones`) whose workers (`augenmass worker --zone"
    " NAME`) run this host's checks; not set: the default zone. While no worker of the zone"
    " is alive the server runs them itself."
)
AGENT_KEY_TEXT = (
    "Hosts: the `augenmass agent` (a name under `agents:`) that runs this host's checks and"
    " sends their results; it becomes the host's parent."
)


class TemplateModel(ObjectModel):
    check: dict[str, Any] | Literal["none"] | None = Field(  # type: ignore[assignment]
        default=None, description=_HOST_CHECK_TEXT
    )

    @field_validator("check", mode="before")
    @classmethod
    def _host_check(cls, value: Any) -> Any:
        return _check_or_none(value, "`none` (no check: the host is assumed UP)")

    agent: Name | None = Field(default=None, description=AGENT_KEY_TEXT)
    zone: Name | None = Field(default=None, description=ZONE_KEY_TEXT)
    address: Text = Field(
        default="",
        description=(
            "Hosts: the address checks connect to ($HOSTADDRESS$; default: the host name)."
        ),
    )
    parents: list[HostName] = Field(
        default=[],
        description=(
            "Hosts: hosts this one is reached through; with them down it is UNREACHABLE, not DOWN."
        ),
    )


class HostModel(ObjectModel):
    check: dict[str, Any] | Literal["none"] | None = Field(  # type: ignore[assignment]
        default=None, description=_HOST_CHECK_TEXT
    )

    @field_validator("check", mode="before")
    @classmethod
    def _host_check(cls, value: Any) -> Any:
        return _check_or_none(value, "`none` (no check: the host is assumed UP)")

    agent: Name | None = Field(default=None, description=AGENT_KEY_TEXT)
    zone: Name | None = Field(default=None, description=ZONE_KEY_TEXT)
    address: Text = Field(
        default="",
        description="The address checks connect to ($HOSTADDRESS$; default: the host name).",
    )
    parents: list[HostName] = Field(
        default=[],
        description=(
            "Hosts this one is reached through; with them down it is UNREACHABLE, not DOWN."
        ),
    )


class ApplyModel(Strict):
    """Host selector of an apply rule; every key given must match."""

    tag: Name | None = Field(default=None, description="Hosts with this tag.")
    group: Name | None = Field(default=None, description="Hosts in this group.")
    name: Name | None = Field(
        default=None, description="Hosts whose name matches this shell pattern (e.g. web*)."
    )
    all: bool = Field(default=False, description="Every host.")


class ServiceModel(ObjectModel):
    @field_validator("check", mode="before")
    @classmethod
    def _no_none(cls, value: Any) -> Any:
        if value == NO_CHECK:
            raise ValueError(
                "a service needs a check: `check: none` is for hosts only (a host without a"
                " check is assumed UP)"
            )
        return value

    name: Name = Field(description="The service's name, unique on its host.")
    host: HostName | None = Field(default=None, description="The host it runs on.")
    hosts: ApplyModel | None = Field(
        default=None, description="Apply rule: run it on every host that matches, now and later."
    )
    ignore: ApplyModel | None = Field(default=None, description="Hosts the apply rule leaves out.")
    ping_key: Text | None = Field(
        default=None,
        description=(
            "Secret of the ping URLs /ping/KEY, /ping/KEY/fail, /ping/KEY/start (for `curl` at"
            " the end of a cron job); at least 22 characters of A-Z a-z 0-9 _ -; write"
            ' "${ENV_VAR}" to keep it out of the file; `augenmass ping-key` makes one.'
        ),
    )


class ContactModel(Strict):
    """A contact's own keys; the keys of its channels (email, webhooks, apprise …) are added
    from the channel registry (config.notifications.contact_model)."""

    language: Literal["de", "en"] = Field(default="en", description="Language of the messages.")
    notification_period: Name | None = Field(
        default=None, description="Time period in which this contact is notified."
    )
    notify_on: list[NotifyOn] = Field(
        default=[],
        description=(
            "Kinds of notification this contact wants; empty: every kind the object sends."
        ),
    )
    types: list[NotificationType] = Field(
        default=[], description="Notification types wanted; empty: all."
    )


class RuleMatchModel(Strict):
    check_type: Name | None = Field(default=None, description="Services with this check type.")
    tag: Name | None = Field(
        default=None, description="Services with this tag, or on a host with it."
    )
    host_group: Name | None = Field(default=None, description="Services on hosts in this group.")
    service: Name | None = Field(
        default=None, description="Services whose name matches this shell pattern."
    )


class RuleModel(Strict):
    match: RuleMatchModel = Field(
        default=RuleMatchModel(),
        description="Which services; every key given must match, none given matches all.",
    )
    notify: NameList = Field(description="Contact groups added to the matching services.")


class GroupModel(Strict):
    members: NameList = Field(default=[], description="The contacts in the group.")


class AgentModel(Strict):
    """An `augenmass agent` on a network the server cannot reach (an office behind NAT)."""

    hosts: ApplyModel | None = Field(
        default=None,
        description=(
            "Hosts whose checks this agent runs, selected by tag, group or name (besides the"
            " hosts that say `agent: NAME` themselves or through a template)."
        ),
    )
    timeout: Freshness = Field(
        default=180.0,
        description=(
            "No result or heartbeat from the agent for this long: its host goes DOWN and its"
            " hosts and services UNREACHABLE (one notification)."
        ),
    )
    max_age: Freshness = Field(
        default=4 * 86400.0,
        description=(
            "Oldest buffered result the server takes after an outage (the agent keeps at"
            " least 72 hours); an older one is refused."
        ),
    )
