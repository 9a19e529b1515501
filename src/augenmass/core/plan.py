"""The resolved configuration: frozen, fully inherited, cross-referenced.

`augenmass.config` turns YAML into a Plan; everything else (engine, scheduler, runner,
notifications) reads only the Plan. Durations are seconds.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from augenmass.core.values import CheckKey, shared_tuple

SERVICE_NOTIFY_ON = frozenset(
    {"warning", "critical", "unknown", "recovery", "flapping", "downtime"}
)
HOST_NOTIFY_ON = frozenset({"down", "unreachable", "recovery", "flapping", "downtime"})


DEFAULT_ZONE = "default"  # the cluster zone of hosts without `zone:`

# The vars of the many hosts and services that have none: one shared, read-only empty mapping.
_NO_VARS: Mapping[str, str] = MappingProxyType({})


def _intern(obj: object, *names: str) -> None:
    """Names, tags and groups repeat across thousands of hosts and services (and reappear in
    every key, state and stored series): one string object each instead of one per mention.
    Interned strings are freed with their last user, so a reload leaves none behind.
    (Runs for every host and service a config loads: map() and one type test per value, not
    a generator and isinstance per item, halved its share of a 10,000-host load.)"""
    setattr, intern = object.__setattr__, sys.intern
    for name in names:
        value = getattr(obj, name)
        if type(value) is str:
            setattr(obj, name, intern(value))
        elif value and not isinstance(value, str):
            try:
                interned = tuple(map(intern, value))
            except TypeError:  # not all of them text (only str itself is interned)
                continue
            setattr(obj, name, shared_tuple(interned))


@dataclass(frozen=True, slots=True)
class Source:
    """Where an object was defined, for error messages."""

    file: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """How to run one check. `type` is "plugin" or a built-in probe type ("tcp", ...)."""

    type: str
    command: tuple[str, ...] = ()  # plugin argv; macros still unexpanded
    options: Mapping[str, Any] = field(
        default_factory=dict
    )  # probe options; str values may hold macros
    timeout: float = 10.0
    timeout_state: int = 3  # state for a check that ran past its timeout (UNKNOWN)
    exit_code_state: int = 3  # state for a plugin exit code outside 0..3 (UNKNOWN)


DEAD_MAN_TYPE = "dummy"  # the placeholder check of a dead-man object (never really run)


def dead_man_check(missing_state: int) -> CheckSpec:
    """The check a dead-man object (`expect_every`) gets: the server answers its forced
    freshness check itself (with the time of the last result); this is only its shape."""
    return CheckSpec(
        type=DEAD_MAN_TYPE, options={"state": missing_state, "output": "no result in time"}
    )


@dataclass(frozen=True, slots=True)
class Escalation:
    """From notification number `first` to `last` (0 = no end), or once `after` seconds have
    passed since the hard change, notify these contact groups instead of (replace=True) or
    in addition to the normal ones."""

    first: int = 1
    last: int = 0
    after: float | None = None
    contact_groups: tuple[str, ...] = ()
    replace: bool = True
    notification_interval: float | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """Scheduling, state and notification settings of one host or service."""

    check_interval: float = 300.0
    retry_interval: float = 60.0
    max_check_attempts: int = 3
    recovery_attempts: int = 1
    active_checks: bool = True
    # None: accepted exactly when active_checks is false. A submit token must not be able to
    # overwrite (silence) what the server checks itself unless the admin allowed it.
    passive_checks: bool | None = None
    freshness_threshold: float | None = None  # passive: run the check when no result this long
    # Dead-man check (cron jobs): a result is expected this often, plus `grace`; when none came
    # the forced freshness check reports `missing_state` (freshness_threshold = the sum).
    expect_every: float | None = None
    grace: float = 0.0
    missing_state: int = 2
    check_period: str | None = None
    volatile: bool = False
    flap_detection: bool = False
    flap_low: float = 20.0
    flap_high: float = 30.0
    notifications_enabled: bool = True
    notification_interval: float = 1800.0  # 0 = notify once
    first_notification_delay: float = 0.0
    notification_period: str | None = None
    notify_on: frozenset[str] = SERVICE_NOTIFY_ON
    contact_groups: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    escalations: tuple[Escalation, ...] = ()

    @property
    def accepts_passive(self) -> bool:
        return (not self.active_checks) if self.passive_checks is None else self.passive_checks


@dataclass(frozen=True, slots=True)
class HostPlan:
    name: str
    address: str = ""
    display_name: str = ""
    parents: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    vars: Mapping[str, str] = field(default_factory=dict)
    check: CheckSpec | None = None  # None: the host is assumed UP
    policy: Policy = Policy(notify_on=HOST_NOTIFY_ON)
    source: Source = Source()
    # True: `check` is settings.default_host_check, the host names none itself
    default_check: bool = False
    agent: str | None = None  # the agent that runs this host's checks (None: the server)
    zone: str | None = None  # the cluster zone whose workers run its checks (None: default)

    def __post_init__(self) -> None:
        _intern(self, "name", "address", "parents", "groups", "tags")
        if not self.vars:
            object.__setattr__(self, "vars", _NO_VARS)

    @property
    def key(self) -> CheckKey:
        return CheckKey(self.name)


@dataclass(frozen=True, slots=True)
class PublicInfo:
    """A service marked public: what the status page may show of it."""

    name: str
    group: str = ""
    show_output: bool = False


@dataclass(frozen=True, slots=True)
class ServicePlan:
    host: str
    name: str
    check: CheckSpec
    display_name: str = ""
    tags: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    vars: Mapping[str, str] = field(default_factory=dict)
    policy: Policy = Policy()
    source: Source = Source()
    public: PublicInfo | None = None
    ping_key: str = field(default="", repr=False)  # a secret: never logged or shown

    def __post_init__(self) -> None:
        _intern(self, "host", "name", "groups", "tags")
        if not self.vars:
            object.__setattr__(self, "vars", _NO_VARS)

    @property
    def key(self) -> CheckKey:
        return CheckKey(self.host, self.name)


@dataclass(frozen=True, slots=True)
class AgentPlan:
    """An `augenmass agent` behind NAT: it runs the checks of `hosts` and sends the results.

    The agent is also a host of its own name (no check: its results are its heartbeat), the
    implicit parent of its hosts, so an agent that goes silent is one DOWN, not a DOWN each."""

    name: str
    hosts: tuple[str, ...] = ()
    timeout: float = 180.0  # no data for this long: the agent's host goes DOWN
    max_age: float = 4 * 86400.0  # oldest buffered result taken (the agent keeps >= 72 h)


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    email: str = ""
    language: str = "en"
    notification_period: str | None = None
    notify_on: frozenset[str] = frozenset()  # empty = everything
    channels: tuple[str, ...] = ()  # Apprise URLs (secrets inside: never logged)
    webhooks: tuple[str, ...] = ()  # names of `notifications.webhooks`
    types: frozenset[str] = frozenset()  # notification types wanted; empty = every type
    # keys of channels that have no field above, by key (may hold secrets: not in repr)
    channel_keys: Mapping[str, Any] = field(default_factory=dict, hash=False, repr=False)


class TimePeriodLike(Protocol):
    name: str

    def contains(self, ts: float) -> bool:
        """True when the wall-clock time `ts` (epoch seconds) lies inside the period."""
        ...

    def next_inside(self, ts: float) -> float | None:
        """The first time >= ts that lies inside the period (None: never again)."""
        ...


@dataclass(frozen=True, slots=True)
class Retention:
    raw: float = 48 * 3600.0
    five_minute: float = 30 * 86400.0
    hourly: float = 2 * 365 * 86400.0
    history: float = 2 * 365 * 86400.0
    # who was told what and when (sent/failed outbox rows too; pending ones are never pruned)
    notification_log: float = 400 * 86400.0
    audit_log: float = 400 * 86400.0  # operator actions in the UI/API


# The check of a host that names none (settings.default_host_check): a ping as lenient as
# Nagios's check-host-alive (check_ping -w 3000,80% -c 5000,100% -p 5), but 3 packets and a
# short timeout, so that waiting for a parent's check is short. A reply later than
# reply_timeout counts as lost: the host is UP when one of the 3 answers within 1 s.
DEFAULT_HOST_CHECK: Mapping[str, Any] = MappingProxyType(
    {
        "type": "icmp",
        "packets": 3,
        "interval": 0.2,
        "reply_timeout": 1.0,
        "timeout": 5.0,
        "warning_rtt": "3000",
        "critical_rtt": "5000",
        "warning_loss": "80",
        "critical_loss": "100",
    }
)


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """The --listen listener: TLS, the session cookie's Secure flag, a reverse proxy."""

    tls_cert: str | None = None  # PEM paths; both set: --listen serves HTTPS
    tls_key: str | None = None
    cookie_secure: bool = True  # false only for plain http on a trusted LAN
    trusted_proxies: tuple[str, ...] = ()  # addresses/CIDRs whose X-Forwarded-* are believed
    max_connections: int = 2000  # open at once; past it the longest-idle one is closed

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None


@dataclass(frozen=True, slots=True)
class Settings:
    max_concurrent_checks: int = 256
    max_check_spread: float = 60.0  # first checks are spread over min(interval, this)
    output_limit: int = 65536
    timezone: str = "UTC"
    # where people reach the web UI (https://monitor.example.org); notifications link there
    base_url: str | None = None
    # where a plugin named without a slash is looked up, before $PATH
    plugin_dirs: tuple[str, ...] = ("/usr/lib/nagios/plugins", "/usr/lib/monitoring-plugins")
    status_page_title: str = "Status"
    status_page_groups: tuple[str, ...] = ()
    status_page_note: str = ""
    # how often the scheduler's own figures (lateness, checks) are stored as performance data
    self_metrics_interval: float = 60.0
    # processes that run built-in probes beside the server's loop; None: one per CPU beyond the
    # first (at most 4); 0: every probe runs in the server's own loop
    probe_workers: int | None = None
    # MiB held back in the data directory, given up when the disk is full (0: none)
    disk_reserve_mb: int = 32
    retention: Retention = Retention()
    # Passive results whose start time lies outside [now - max_age, now + max_future] are
    # refused; an agent that buffers while offline needs a generous max_age.
    passive_max_age: float = 86400.0
    passive_max_future: float = 60.0
    # a plugin that makes up new perfdata labels every run must not grow the store forever
    max_series_per_check: int = 100
    # the `check:` mapping of hosts that name none; None: such hosts are assumed UP
    default_host_check: Mapping[str, Any] | None = field(
        default_factory=lambda: dict(DEFAULT_HOST_CHECK), hash=False
    )
    http: HttpSettings = HttpSettings()


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    security: str = "none"  # none | starttls | tls
    username: str = ""
    password: str = field(default="", repr=False)  # a secret: never logged or shown
    from_address: str = "augenmass@localhost"
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    name: str
    url: str = field(repr=False)  # may hold a token
    secret: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    """Delivery of notifications (the engine decides what is due and to whom)."""

    smtp: SmtpSettings | None = None
    webhooks: Mapping[str, WebhookTarget] = field(default_factory=dict)
    group_wait: float = 10.0  # a first problem for a contact waits this long for company
    settle: float | None = None  # a host problem/recovery with things behind it (None: auto)
    group_interval: float = 30.0  # at least this long between two messages to one contact
    retry_initial: float = 5.0  # backoff after a failed send, doubling up to retry_max
    retry_max: float = 300.0
    max_attempts: int = 100  # temporary failures (no connection, 4xx) before giving up
    permanent_attempts: int = 3  # permanent failures (5xx) before giving up
    templates_dir: str | None = None
    max_output: int = 2000  # characters of check output in a message
    # settings of channels that have no field above, by key (may hold secrets: not in repr)
    channel_settings: Mapping[str, Any] = field(default_factory=dict, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class LeaseSettings:
    """The active server's lease in a PostgreSQL store (active/standby)."""

    ttl: float = 10.0  # not renewed for this long: a standby takes over
    renew: float = 3.0  # how often the active server renews it


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """Check workers over NATS JetStream (`nats_url` None: none) and the active/standby lease."""

    nats_url: str | None = field(default=None, repr=False)  # may hold a user and password
    prefix: str = "augenmass"  # of stream and subject names
    # a job whose worker went silent (no ack, no in-progress) this long is handed out again
    ack_wait: float = 10.0
    zones: tuple[str, ...] = ()  # besides the default zone (hosts without `zone:`)
    lease: LeaseSettings = LeaseSettings()


@dataclass(frozen=True, slots=True)
class Plan:
    hosts: Mapping[str, HostPlan] = field(default_factory=dict)
    services: Mapping[CheckKey, ServicePlan] = field(default_factory=dict)
    contacts: Mapping[str, Contact] = field(default_factory=dict)
    contact_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    timeperiods: Mapping[str, TimePeriodLike] = field(default_factory=dict)
    settings: Settings = Settings()
    notifications: NotificationSettings = NotificationSettings()
    agents: Mapping[str, AgentPlan] = field(default_factory=dict)
    cluster: ClusterSettings = ClusterSettings()

    def zone_of(self, key: CheckKey) -> str:
        """The cluster zone of the host of `key` (DEFAULT_ZONE without `zone:`)."""
        host = self.hosts.get(key.host)
        return DEFAULT_ZONE if host is None or host.zone is None else host.zone

    def agent_of(self, key: CheckKey) -> str | None:
        """The agent that runs this check, or None when the server runs it."""
        host = self.hosts.get(key.host)
        return None if host is None else host.agent

    def services_of(self, host: str) -> list[ServicePlan]:
        return [s for s in self.services.values() if s.host == host]

    def children_of(self, host: str) -> list[str]:
        return [h.name for h in self.hosts.values() if host in h.parents]

    def policy(self, key: CheckKey) -> Policy:
        if key.service is None:
            return self.hosts[key.host].policy
        return self.services[key].policy

    def spec(self, key: CheckKey) -> CheckSpec | None:
        if key.service is None:
            return self.hosts[key.host].check
        return self.services[key].check
