"""Dead-man checks (`expect_every`): the server answers their forced freshness check itself.

The scheduler's freshness timer is the only timer: it runs the check `expect_every + grace`
after the last passive result, and this module turns that run into the missing result, saying
since when nothing came, in the configured time zone (an admin reads it at 7 in the morning).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from augenmass.core.duration import format_duration
from augenmass.core.plan import Policy
from augenmass.core.values import CheckKey, CheckResult, CheckState

PREFIX = "no result since "
SOURCE = "dead-man"  # the result says a job did not report, nothing about its host
TOLERANCE = 1.0  # seconds: the freshness timer runs on the monotonic clock, this on the wall


def local_time(ts: float, timezone: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")


def missing_result(
    key: CheckKey,
    policy: Policy,
    state: CheckState | None,
    watched_since: float,
    now: float,
    timezone: str,
) -> CheckResult | None:
    """The missing result, or None while the last result is recent ("check now" asked early).

    The forced check comes `expect_every + grace` after the last result, so it always finds
    it stale. `watched_since` counts when the object never had a result (server start or the
    reload that added it); a missing result repeated keeps the time of the last real one."""
    threshold = (policy.expect_every or 0.0) + policy.grace
    if state is not None and state.checked and state.output.startswith(PREFIX):
        output = state.output  # still missing: the same "since"
    else:
        since = state.last_check if state is not None and state.checked else watched_since
        if now - since < threshold - TOLERANCE:
            return None
        output = _output(since, policy, timezone)
    return CheckResult(
        key=key, status=policy.missing_state, output=output, started_at=now, source=SOURCE
    )


def _output(since: float, policy: Policy, timezone: str) -> str:
    expected = format_duration(policy.expect_every or 0.0)
    grace = f" + grace {format_duration(policy.grace)}" if policy.grace else ""
    return f"{PREFIX}{local_time(since, timezone)} (expected every {expected}{grace})"
