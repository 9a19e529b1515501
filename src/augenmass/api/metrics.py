"""/metrics in the Prometheus text exposition format (version 0.0.4), `promtool check metrics`
clean.

Built from the engine's current states (each holds its last perfdata), so a scrape never touches
the database. Hosts and services have families of their own (a host's 1 is DOWN, a service's 1
is WARNING; no empty `service` label). Perfdata is converted to base units with the unit in the
family's name (`_seconds`, `_bytes`, `_ratio`), as Prometheus conventions ask. Label values are
escaped as the format requires; metric names are fixed, so hostile perfdata labels can only ever
land inside a quoted value. docs/metrics.md lists every family.
"""

from __future__ import annotations

import math
import os
import resource
from collections.abc import Iterable
from typing import TYPE_CHECKING

from augenmass import __version__
from augenmass.api import auth
from augenmass.api.throttle import REASONS
from augenmass.api.views import in_downtime
from augenmass.core.values import CheckKey, CheckState, PerfDatum

if TYPE_CHECKING:
    from augenmass.control import ServerControl
    from augenmass.control.answers import Health

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# plugin unit → (family suffix, factor to the base unit)
_UNITS: dict[str, tuple[str, float]] = {
    "s": ("_seconds", 1.0),
    "ms": ("_seconds", 1e-3),
    "us": ("_seconds", 1e-6),
    "B": ("_bytes", 1.0),
    "KB": ("_bytes", 1024.0),  # the monitoring plugins count in binary units
    "MB": ("_bytes", 1024.0**2),
    "GB": ("_bytes", 1024.0**3),
    "TB": ("_bytes", 1024.0**4),
    "%": ("_ratio", 0.01),
    "c": ("_total", 1.0),
    "": ("", 1.0),
}
_SUFFIX_HELP = {
    "_seconds": "in seconds (from s, ms, us)",
    "_bytes": "in bytes (from B, KB, MB, GB, TB; 1 KB = 1024 B)",
    "_ratio": "as a ratio 0..1 (from %)",
    "_total": "of a counter (c)",
    "": "without a unit; another unit than the above is in the `unit` label",
}


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


def _num(value: float) -> str:
    if isinstance(value, int):  # counts stay counts ("2", not "2.0")
        return str(int(value))
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class _Out:
    """Families in the order they are first named; each HELP/TYPE once, samples grouped."""

    def __init__(self) -> None:
        self.families: dict[str, tuple[str, str, list[str]]] = {}

    def add(self, name: str, kind: str, help_text: str, labels: str, value: float) -> None:
        fam = self.families.get(name)
        if fam is None:
            fam = self.families[name] = (kind, help_text, [])
        fam[2].append(f"{name}{labels} {_num(value)}")

    def declare(self, name: str, kind: str, help_text: str) -> None:
        self.families.setdefault(name, (kind, help_text, []))

    def text(self) -> str:
        lines: list[str] = []
        for name, (kind, help_text, samples) in self.families.items():
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            lines += samples
        return "\n".join(lines) + "\n"


def _where(key: CheckKey) -> tuple[str, dict[str, str]]:
    if key.service is None:
        return "host", {"host": key.host}
    return "service", {"host": key.host, "service": key.service}


def _perfdata(out: _Out, kind: str, where: dict[str, str], data: Iterable[PerfDatum]) -> None:
    for d in data:
        if d.value is None or not math.isfinite(d.value):
            continue
        suffix, factor = _UNITS.get(d.uom, ("", 1.0))
        name = f"augenmass_{kind}_perfdata{suffix}"
        extra = {"unit": d.uom} if d.uom not in _UNITS else {}
        out.add(
            name,
            "counter" if suffix == "_total" else "gauge",
            f"Last performance-data value of a {kind} check, {_SUFFIX_HELP[suffix]}.",
            _labels(**where, label=d.label, **extra),
            d.value * factor,
        )


def render(control: ServerControl) -> str:
    out = _Out()
    # declared first so that an empty server still shows what it would expose
    out.declare("augenmass_host_state", "gauge", "Host state: 0 UP, 1 DOWN, 2 UNREACHABLE.")
    out.declare(
        "augenmass_service_state",
        "gauge",
        "Service state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    )
    durations = control.check_durations()
    for st in control.states.values():
        if not st.checked:
            continue  # pending: no sample rather than a made-up value
        kind, where = _where(st.key)
        _check(out, control, st, kind, where, durations.get(st.key))
    for st in control.states.values():
        if st.checked:
            kind, where = _where(st.key)
            _perfdata(out, kind, where, st.perfdata)
    _server_figures(out, control)
    _process(out)
    return out.text()


def _check(
    out: _Out,
    control: ServerControl,
    st: CheckState,
    kind: str,
    where: dict[str, str],
    duration: float | None,
) -> None:
    lbl = _labels(**where)
    pre = f"augenmass_{kind}"
    out.add(f"{pre}_state", "gauge", "", lbl, st.state)
    out.add(
        f"{pre}_state_hard",
        "gauge",
        f"1 when the {kind}'s state is HARD (confirmed), 0 while SOFT (retrying).",
        lbl,
        int(str(st.state_type) == "HARD"),
    )
    if st.state != 0:
        handled = st.acknowledgement is not None or in_downtime(control, st.key)
        out.add(
            f"{pre}_handled",
            "gauge",
            f"1 when the {kind}'s problem is acknowledged or in a downtime (problems only).",
            lbl,
            int(handled),
        )
    out.add(
        f"{pre}_last_check_timestamp_seconds",
        "gauge",
        f"When the {kind} was last checked (Unix time).",
        lbl,
        st.last_check,
    )
    if duration is not None:
        out.add(
            f"{pre}_check_duration_seconds",
            "gauge",
            f"How long the {kind}'s last active check took.",
            lbl,
            duration,
        )


_ZONE_GAUGES = (
    ("workers", "augenmass_workers", "Live check workers of the zone."),
    ("running", "augenmass_worker_jobs_running", "Jobs the zone's workers run now."),
    ("slots", "augenmass_worker_slots", "Jobs the zone's workers could run at once."),
    ("load1", "augenmass_worker_load1", "Highest 1-minute load average of the zone's workers."),
    ("waiting", "augenmass_worker_jobs_waiting", "Jobs in NATS no worker of the zone took yet."),
    ("at_workers", "augenmass_worker_jobs_unacked", "Jobs handed out, not yet answered."),
)
_ZONE_COUNTERS = (
    ("sent", "augenmass_worker_jobs_sent_total", "Jobs sent to the zone's workers."),
    ("results", "augenmass_worker_results_total", "Results the zone's workers sent back."),
    (
        "redelivered",
        "augenmass_worker_jobs_redelivered_total",
        "Jobs answered after being handed out again (a worker died or stopped).",
    ),
    (
        "expired",
        "augenmass_worker_jobs_expired_total",
        "Jobs a worker took after their deadline: not run.",
    ),
    (
        "unanswered",
        "augenmass_worker_jobs_unanswered_total",
        "Jobs without an answer in their window: that check was not run that time.",
    ),
    (
        "unconfirmed",
        "augenmass_worker_jobs_unconfirmed_total",
        "Jobs NATS did not confirm in time (overload); their answers are waited for.",
    ),
    (
        "ran_here",
        "augenmass_worker_checks_ran_on_server_total",
        "Checks of the zone the server ran itself (no live worker, or NATS away).",
    ),
)


def _cluster_figures(out: _Out, health: Health) -> None:
    cluster = health.get("cluster")
    if cluster is None:
        return
    out.add(
        "augenmass_nats_connected",
        "gauge",
        "1 while connected to NATS.",
        "",
        int(cluster["connected"]),
    )
    out.add(
        "augenmass_worker_duplicates_total",
        "counter",
        "Second answers to one job, ignored.",
        "",
        cluster["duplicates"],
    )
    for zone in cluster["zones"]:
        lbl = _labels(zone=zone["zone"])
        for key, name, help_text in _ZONE_GAUGES:
            out.add(name, "gauge", help_text, lbl, zone[key])  # type: ignore[literal-required]
        for key, name, help_text in _ZONE_COUNTERS:
            out.add(name, "counter", help_text, lbl, zone[key])  # type: ignore[literal-required]


def _server_figures(out: _Out, control: ServerControl) -> None:
    health = control.health()
    s = health["scheduler"]
    w = health["store"]
    n = health["notifications"]

    def one(name: str, kind: str, help_text: str, value: float) -> None:
        out.add(name, kind, help_text, "", value)

    out.add("augenmass_info", "gauge", "Version of the server.", _labels(version=__version__), 1)
    one("augenmass_hosts", "gauge", "Hosts in the configuration.", health["hosts"])
    one("augenmass_services", "gauge", "Services in the configuration.", health["services"])
    one(
        "augenmass_checks_started_total",
        "counter",
        "Checks started since the server started.",
        s["checks_started"],
    )
    one(
        "augenmass_checks_completed_total",
        "counter",
        "Checks completed since the server started.",
        s["checks_completed"],
    )
    one("augenmass_checks_in_flight", "gauge", "Checks running now.", s["in_flight"])
    one("augenmass_checks_queued", "gauge", "Checks due but waiting for a slot.", s["queued"])
    lateness = (("p50", s["lateness_p50"]), ("p99", s["lateness_p99"]), ("max", s["lateness_max"]))
    for q, value in lateness:
        one(
            f"augenmass_scheduler_lateness_{q}_seconds",
            "gauge",
            f"Lateness of checks over the recent window, {q}.",
            value,
        )
    one("augenmass_store_pending", "gauge", "Results waiting to be written.", w["pending"])
    one("augenmass_store_failures_total", "counter", "Failed store writes.", w["failures"])
    one(
        "augenmass_store_degraded",
        "gauge",
        "1 when the store is degraded.",
        int(health["status"] == "degraded"),
    )
    one(
        "augenmass_perfdata_dropped_total",
        "counter",
        "Performance-data values of new labels dropped by settings.max_series_per_check.",
        w["perfdata_dropped"],
    )
    one(
        "augenmass_notifications_sent_total",
        "counter",
        "Notifications delivered since the server started.",
        n["sent"],
    )
    one(
        "augenmass_notifications_failed_total",
        "counter",
        "Notifications that failed for good (those in the store at start, then each new one).",
        n["failed"],
    )
    one(
        "augenmass_notifications_retries_total",
        "counter",
        "Deliveries tried again after a failure since the server started.",
        n["retries"],
    )
    one("augenmass_notifications_pending", "gauge", "Notifications not sent yet.", n["pending"])
    _cluster_figures(out, health)
    cluster = health.get("ha")
    if cluster is not None:
        one(
            "augenmass_cluster_active",
            "gauge",
            "1 while this server acts (schedules, evaluates, notifies): active, or alone on"
            " SQLite; 0 on a standby.",
            int(cluster["role"] != "standby"),
        )
        if cluster["token"] is not None:
            one(
                "augenmass_cluster_lease_token",
                "gauge",
                "The active/standby lease's fencing token: it counts the takeovers.",
                cluster["token"],
            )
    # no name label: names are the attacker's choice (unbounded series); see the log
    failures = auth.settings(control).throttle.failures
    for reason in REASONS:
        out.add(
            "augenmass_login_failures_total",
            "counter",
            "Failed logins since the server started: wrong name or password, refused while the"
            " account is locked, refused for the client's address being over its limit.",
            _labels(reason=reason),
            failures[reason],
        )


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process(out: _Out) -> None:
    """The standard process_* families (as the Prometheus client libraries name them)."""
    times = os.times()
    out.add(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        "",
        times.user + times.system,
    )
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rpartition(")")[2].split()
        with open("/proc/stat", encoding="ascii") as fh:
            boot = next(float(line.split()[1]) for line in fh if line.startswith("btime "))
        start = boot + int(fields[19]) / _CLK_TCK
        vsize, rss_pages = int(fields[20]), int(fields[21])
        fds = len(os.listdir("/proc/self/fd"))
    except (OSError, ValueError, IndexError, StopIteration):
        return  # not Linux: the CPU time is all there is
    page = os.sysconf("SC_PAGE_SIZE")
    out.add(
        "process_start_time_seconds", "gauge", "Start time of the process (Unix time).", "", start
    )
    out.add(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        "",
        rss_pages * page,
    )
    out.add("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", "", vsize)
    out.add("process_open_fds", "gauge", "Number of open file descriptors.", "", fds)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY:
        out.add("process_max_fds", "gauge", "Maximum number of open file descriptors.", "", soft)
