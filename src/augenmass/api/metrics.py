"""/metrics in the Prometheus text exposition format (version 0.0.4).

Built from the engine's current states (each holds its last perfdata), so a scrape never touches
the database. Label values are escaped as the format requires (backslash, quote, newline);
metric names are fixed, so hostile perfdata labels can only ever land inside a quoted value.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from augenmass import __version__
from augenmass.api import auth
from augenmass.api.throttle import REASONS
from augenmass.api.views import in_downtime

if TYPE_CHECKING:
    from augenmass.control import ServerControl

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


def _num(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def render(control: ServerControl) -> str:
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")

    states = control.states
    family("augenmass_perfdata_value", "gauge", "Last performance-data value of a check.")
    for st in states.values():
        for d in st.perfdata:
            if d.value is None:
                continue
            lbl = _labels(host=st.key.host, service=st.key.service or "", label=d.label, uom=d.uom)
            lines.append(f"augenmass_perfdata_value{lbl} {_num(d.value)}")
    family(
        "augenmass_check_state",
        "gauge",
        "Current state (0 OK/UP, 1 WARNING/DOWN, 2 CRITICAL/UNREACHABLE, 3 UNKNOWN, -1 pending).",
    )
    for st in states.values():
        lbl = _labels(host=st.key.host, service=st.key.service or "")
        lines.append(f"augenmass_check_state{lbl} {st.state if st.checked else -1}")
    family("augenmass_check_handled", "gauge", "1 when acknowledged or in a downtime.")
    for st in states.values():
        if st.checked and st.state != 0:
            handled = st.acknowledgement is not None or in_downtime(control, st.key)
            lbl = _labels(host=st.key.host, service=st.key.service or "")
            lines.append(f"augenmass_check_handled{lbl} {int(handled)}")
    lines += _server_figures(control)
    return "\n".join(lines) + "\n"


def _server_figures(control: ServerControl) -> list[str]:
    health = control.health()
    s = health["scheduler"]
    w = health["store"]
    out = [
        "# HELP augenmass_info Version of the server.",
        "# TYPE augenmass_info gauge",
        f"augenmass_info{_labels(version=__version__)} 1",
        "# HELP augenmass_checks_started_total Checks started since the server started.",
        "# TYPE augenmass_checks_started_total counter",
        f"augenmass_checks_started_total {s['checks_started']}",
        "# HELP augenmass_checks_completed_total Checks completed since the server started.",
        "# TYPE augenmass_checks_completed_total counter",
        f"augenmass_checks_completed_total {s['checks_completed']}",
        "# HELP augenmass_checks_in_flight Checks running now.",
        "# TYPE augenmass_checks_in_flight gauge",
        f"augenmass_checks_in_flight {s['in_flight']}",
        "# HELP augenmass_checks_queued Checks due but waiting for a free slot.",
        "# TYPE augenmass_checks_queued gauge",
        f"augenmass_checks_queued {s['queued']}",
        "# HELP augenmass_scheduler_lateness_seconds Lateness of checks over the recent window.",
        "# TYPE augenmass_scheduler_lateness_seconds gauge",
    ]
    quantiles = (("0.5", s["lateness_p50"]), ("0.99", s["lateness_p99"]), ("1", s["lateness_max"]))
    for q, value in quantiles:
        out.append(f"augenmass_scheduler_lateness_seconds{_labels(quantile=q)} {_num(value)}")
    out += [
        "# HELP augenmass_store_pending Results waiting to be written.",
        "# TYPE augenmass_store_pending gauge",
        f"augenmass_store_pending {w['pending']}",
        "# HELP augenmass_store_failures_total Failed store writes.",
        "# TYPE augenmass_store_failures_total counter",
        f"augenmass_store_failures_total {w['failures']}",
        "# HELP augenmass_store_degraded 1 when the store is degraded.",
        "# TYPE augenmass_store_degraded gauge",
        f"augenmass_store_degraded {int(health['status'] == 'degraded')}",
        "# HELP augenmass_perfdata_dropped_total Performance-data values of new labels dropped"
        " by settings.max_series_per_check.",
        "# TYPE augenmass_perfdata_dropped_total counter",
        f"augenmass_perfdata_dropped_total {w['perfdata_dropped']}",
        # no name label: names are the attacker's choice (unbounded series); see the log
        "# HELP augenmass_login_failures_total Failed logins since the server started: wrong"
        " name or password, refused while the account is locked, refused for the client's"
        " address being over its limit.",
        "# TYPE augenmass_login_failures_total counter",
    ]
    failures = auth.settings(control).throttle.failures
    for reason in REASONS:
        out.append(f"augenmass_login_failures_total{_labels(reason=reason)} {failures[reason]}")
    return out
