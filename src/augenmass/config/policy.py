"""Policy and CheckSpec from validated models: local value, else `defaults:`, else built-in."""

from __future__ import annotations

import operator
from typing import Any

from augenmass.config.checks import SPEC_FIELDS, check_model, check_types
from augenmass.config.paths import Where
from augenmass.config.schema import PolicyModel
from augenmass.config.suggest import unknown
from augenmass.config.validation import validate
from augenmass.core.errors import ConfigProblem
from augenmass.core.options import CheckModel
from augenmass.core.plan import HOST_NOTIFY_ON, SERVICE_NOTIFY_ON, CheckSpec, Escalation, Policy

_PLAIN = (
    "check_interval",
    "retry_interval",
    "max_check_attempts",
    "recovery_attempts",
    "active_checks",
    "passive_checks",
    "freshness_threshold",
    "expect_every",
    "grace",
    "missing_state",
    "check_period",
    "volatile",
    "flap_detection",
    "flap_low",
    "flap_high",
    "notifications_enabled",
    "notification_interval",
    "first_notification_delay",
    "notification_period",
)
DEFAULT_TIMEOUT = 10.0
UNKNOWN = 3
_SPEC_EXCLUDE = set(SPEC_FIELDS)  # model_dump's: made once, not per check


def pick(model: PolicyModel, defaults: PolicyModel, name: str) -> Any:
    value = getattr(model, name)
    return getattr(defaults, name) if value is None else value


# Most objects of a large config have one of a few policies: a load builds each once (keyed by
# everything build_policy reads of the object) and the objects share it (frozen).
PolicyCache = dict[tuple[Any, ...], Policy]


_LISTS = ("notify_on", "notify", "contacts", "escalations")
_plain_of = operator.itemgetter(*_PLAIN)
_lists_of = operator.itemgetter(*_LISTS)


def _policy_key(own: dict[str, Any], is_host: bool) -> tuple[Any, ...]:
    lists = tuple(None if value is None else repr(value) for value in _lists_of(own))
    return (is_host, _plain_of(own), lists)


def build_policy(
    model: PolicyModel,
    defaults: PolicyModel,
    is_host: bool,
    where: Where,
    cache: PolicyCache | None = None,
) -> tuple[Policy, list[ConfigProblem]]:
    """`cache`: of one load, with one `defaults` (they are not part of its key)."""
    # A validated model keeps its fields in __dict__: read there, 16 keys of each of 30,000
    # objects cost about half of what getattr did (bench/config_load.py, cProfile).
    own, fallback = vars(model), vars(defaults)
    if cache is None:
        return _build_policy(model, defaults, is_host, where, own, fallback)
    key = _policy_key(own, is_host)
    found = cache.get(key)
    if found is not None:
        return found, []
    policy, problems = _build_policy(model, defaults, is_host, where, own, fallback)
    if not problems:  # a problem names its place: built again for each object that has it
        cache[key] = policy
    return policy, problems


def _build_policy(
    model: PolicyModel,
    defaults: PolicyModel,
    is_host: bool,
    where: Where,
    own: dict[str, Any],
    fallback: dict[str, Any],
) -> tuple[Policy, list[ConfigProblem]]:
    kwargs: dict[str, Any] = {}
    for name in _PLAIN:
        value = own[name]
        if value is None:
            value = fallback[name]
        if value is not None:
            kwargs[name] = value
    allowed = HOST_NOTIFY_ON if is_host else SERVICE_NOTIFY_ON
    problems = []
    notify_on = pick(model, defaults, "notify_on")
    if notify_on is not None:
        wrong = sorted(set(notify_on) - allowed)
        if wrong and model.notify_on is not None:
            kind = "a host" if is_host else "a service"
            problems.append(
                where.at("notify_on").problem(
                    f"{', '.join(wrong)} not possible for {kind}; use {', '.join(sorted(allowed))}"
                )
            )
        kwargs["notify_on"] = frozenset(notify_on) & allowed
    else:
        kwargs["notify_on"] = allowed
    kwargs["contact_groups"] = tuple(pick(model, defaults, "notify") or ())
    kwargs["contacts"] = tuple(pick(model, defaults, "contacts") or ())
    kwargs["escalations"] = tuple(
        Escalation(
            first=e.first,
            last=e.last,
            after=e.after,
            contact_groups=tuple(e.notify),
            replace=e.replace,
            notification_interval=e.notification_interval,
        )
        for e in pick(model, defaults, "escalations") or ()
    )
    if kwargs.get("expect_every") is not None:
        problems += _dead_man(kwargs, own, where)
    flap_low, flap_high = kwargs.get("flap_low", 20.0), kwargs.get("flap_high", 30.0)
    if flap_low > flap_high:
        problems.append(where.at("flap_low").problem("flap_low must not exceed flap_high"))
    return Policy(**kwargs), problems


def _dead_man(kwargs: dict[str, Any], own: dict[str, Any], where: Where) -> list[ConfigProblem]:
    """`expect_every` makes a passive-only object whose forced freshness check reports the
    missing result: the existing freshness machinery is the timer, no second one."""
    problems = []
    if kwargs.get("active_checks") is True and own["active_checks"] is True:
        problems.append(
            where.at("active_checks").problem(
                "a dead-man check (expect_every) is passive only; drop active_checks: true"
            )
        )
    if own["freshness_threshold"] is not None:
        problems.append(
            where.at("freshness_threshold").problem(
                "use either expect_every (+ grace) or freshness_threshold, not both"
            )
        )
    kwargs["active_checks"] = False
    kwargs["freshness_threshold"] = kwargs["expect_every"] + kwargs.get("grace", 0.0)
    # A missing run is a confirmed fact, not a flaky probe: one forced check makes it HARD
    # (three would take three times expect_every), unless the object itself says otherwise.
    if own["max_check_attempts"] is None:
        kwargs["max_check_attempts"] = 1
    return problems


class CheckCache:
    """What one load learnt about its checks.

    A large config repeats a few checks thousands of times (from templates, apply rules, or
    written alike): each distinct `check:` mapping is validated once per load. Keyed by its
    repr, which tells 1, "1" and true apart; the options mapping is then shared, read-only, by
    the specs. (Validating field by field, as hosts are, was slower here: an options model is
    validated in pydantic's core alone, without a Python validator to save.)"""

    def __init__(self) -> None:
        self.checks: dict[str, tuple[CheckModel, dict[str, Any]]] = {}
        self.models: dict[str, type[CheckModel] | str] = {}  # check_model() of each type
        self.types = check_types()
        self.specs: dict[tuple[Any, ...], CheckSpec] = {}
        self.keys: dict[int, tuple[dict[str, Any], str]] = {}

    def key_of(self, check: dict[str, Any]) -> str:
        """repr(check), once per mapping: a template's check is the same object on every host
        that uses it (kept here, so its id is not reused while the load runs)."""
        seen = self.keys.get(id(check))
        if seen is not None and seen[0] is check:
            return seen[1]
        key = repr(check)
        self.keys[id(check)] = (check, key)
        return key

    def model_of(self, kind: str) -> type[CheckModel] | str:
        found = self.models.get(kind)
        if found is None:
            found = self.models[kind] = check_model(kind)
        return found


def build_check(
    check: Any,
    where: Where,
    model: PolicyModel,
    defaults: PolicyModel,
    cache: CheckCache | None = None,
) -> tuple[CheckSpec | None, list[ConfigProblem]]:
    """`where` is the place of the `check:` key itself."""
    if not isinstance(check, dict):
        return None, [where.problem("expected a mapping with a `type` (e.g. {type: plugin, ...})")]
    key = repr(check) if cache is None else cache.key_of(check)
    cached = cache.checks.get(key) if cache is not None else None
    if cached is None:
        checked, problems = _validated(check, where, cache)
        if checked is None:
            return None, problems
        cached = checked
        if cache is not None:
            cache.checks[key] = cached
    validated, options = cached
    own = vars(validated)  # the validated fields (read there: this runs for every object)
    timeout = own["timeout"]
    if timeout is None:
        timeout = pick(model, defaults, "timeout")
    if timeout is not None and timeout <= 0:
        return None, [where.at("timeout").problem("timeout must be more than 0 seconds")]
    timeout_state = own["timeout_state"]
    if timeout_state is None:
        timeout_state = pick(model, defaults, "timeout_state")
    exit_code_state = own["exit_code_state"]
    if exit_code_state is None:
        exit_code_state = pick(model, defaults, "exit_code_state")
    states = (timeout_state, exit_code_state)
    if cache is None:
        return _spec(check, validated, options, timeout, states), []
    # one spec for every object with the same check and the same fallbacks (frozen, shared)
    spec_key = (key, timeout, timeout_state, exit_code_state)
    spec = cache.specs.get(spec_key)
    if spec is None:
        spec = cache.specs[spec_key] = _spec(check, validated, options, timeout, states)
    return spec, []


def _spec(
    check: dict[str, Any],
    validated: CheckModel,
    options: dict[str, Any],
    timeout: float | None,
    states: tuple[int | None, int | None],
) -> CheckSpec:
    """`states`: timeout_state and exit_code_state (None: the built-in one)."""
    timeout_state, exit_code_state = states
    return CheckSpec(
        type=check["type"],
        command=tuple(vars(validated).get("command", ())),
        options=options,
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        timeout_state=UNKNOWN if timeout_state is None else timeout_state,
        exit_code_state=UNKNOWN if exit_code_state is None else exit_code_state,
    )


def _validated(
    check: dict[str, Any], where: Where, cache: CheckCache | None = None
) -> tuple[tuple[CheckModel, dict[str, Any]] | None, list[ConfigProblem]]:
    """The options model of a `check:` mapping and its options for CheckSpec, or problems."""
    kind = check.get("type")
    types = check_types() if cache is None else cache.types
    if not isinstance(kind, str):
        choices = ", ".join(types)
        return None, [where.at("type").problem(f"required key is missing (one of: {choices})")]
    if kind not in types:
        return None, [where.at("type").problem(unknown("check type", kind, types))]
    options_model = check_model(kind) if cache is None else cache.model_of(kind)
    if isinstance(options_model, str):
        return None, [where.at("type").problem(options_model)]
    options = {k: v for k, v in check.items() if k != "type"}
    validated, problems = validate(options_model, options, where)
    if validated is None or problems:  # a partial model must not hide a bad option
        return None, problems
    dumped = validated.model_dump(mode="json", exclude=_SPEC_EXCLUDE, exclude_defaults=True)
    return (validated, dumped), []
