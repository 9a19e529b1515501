"""Macro building and expansion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from runner_helpers import job

from augenmass.core.plan import CheckSpec, HostPlan, ServicePlan
from augenmass.runner import Runner
from augenmass.runner.macros import build_macros, expand, expand_argv, host_macros, job_macros

HOST = HostPlan(
    "web1", address="10.0.0.5", display_name="Web One", vars={"os": "linux", "port": "8080"}
)
SPEC = CheckSpec(
    "plugin",
    ("check_http", "-H", "$HOSTADDRESS$", "-p", "$ARG1$"),
    {"args": ["$_HOSTPORT$", "-w 5"]},
)
SERVICE = ServicePlan(
    "web1", "http", SPEC, display_name="HTTP", vars={"port": "9090", "path": "/x"}
)


def test_build_macros_for_a_service() -> None:
    macros = build_macros(HOST, SERVICE, SPEC)
    assert macros["HOSTNAME"] == "web1"
    assert macros["HOSTADDRESS"] == "10.0.0.5"
    assert macros["HOSTDISPLAYNAME"] == "Web One"
    assert macros["SERVICEDESC"] == "http"
    assert macros["SERVICEDISPLAYNAME"] == "HTTP"
    assert macros["_HOSTOS"] == "linux"
    assert macros["_HOSTPORT"] == "8080"
    assert macros["_SERVICEPORT"] == "9090"
    assert macros["port"] == "9090"  # bare name: the service var wins over the host var
    assert macros["os"] == "linux"
    assert macros["ARG1"] == "8080"  # ARGs may use other macros
    assert macros["ARG2"] == "-w 5"


def test_build_macros_for_a_host_defaults() -> None:
    bare = HostPlan("db1")
    macros = build_macros(bare, None, CheckSpec("plugin", ("x",)))
    assert macros["HOSTADDRESS"] == "db1"
    assert macros["HOSTDISPLAYNAME"] == "db1"
    assert "SERVICEDESC" not in macros and "ARG1" not in macros


def test_builtin_names_win_over_vars() -> None:
    host = HostPlan("real", vars={"HOSTNAME": "fake"})
    assert build_macros(host, None, CheckSpec("plugin"))["HOSTNAME"] == "real"


@pytest.mark.parametrize(
    ("template", "argv", "unknown"),
    [
        (["-H", "$HOSTADDRESS$"], ["-H", "10.0.0.5"], []),
        (["$HOSTNAME$:$ARG1$"], ["web1:8080"], []),
        (["cost $$5"], ["cost $5"], []),
        (["$$HOSTNAME$"], ["$HOSTNAME$"], []),
        (["$NOPE$x"], ["x"], ["NOPE"]),
        (["a $ b", "$"], ["a $ b", "$"], []),
        (["--url=http://$HOSTADDRESS$$path$"], ["--url=http://10.0.0.5/x"], []),
    ],
)
def test_expand(template: list[str], argv: list[str], unknown: list[str]) -> None:
    macros = build_macros(HOST, SERVICE, SPEC)
    assert expand_argv(template, macros) == (argv, unknown)
    assert expand(template, macros) == argv


@given(st.text(max_size=50))
def test_values_are_not_expanded_again(value: str) -> None:
    assert expand(["$X$"], {"X": value, "HOSTNAME": "oops"}) == [value]


async def test_unknown_macro_is_noted_in_the_result(runner: Runner) -> None:
    result = await runner.run(job(["check_dummy", "0", "a$TYPO$b"]))
    assert result.output == "OK: ab"
    assert result.notes == ("unknown macro $TYPO$ replaced by an empty string",)


def test_expand_options_reaches_nested_values() -> None:
    from augenmass.runner.macros import expand_options

    unknown: list[str] = []
    options = {
        "url": "http://$HOSTADDRESS$/",
        "port": 80,
        "headers": {"X": "$HOSTNAME$"},
        "list": ["$NOPE$", 1],
        "tuple": ("$HOSTNAME$",),
    }
    got = expand_options(options, {"HOSTADDRESS": "10.0.0.5", "HOSTNAME": "web1"}, unknown)
    assert got == {
        "url": "http://10.0.0.5/",
        "port": 80,
        "headers": {"X": "web1"},
        "list": ["", 1],
        "tuple": ("web1",),
    }
    assert unknown == ["NOPE"]


def test_expand_options_without_macros_keeps_the_same_objects() -> None:
    """Every check keeps its expanded options: without a macro they are the plan's own."""
    from augenmass.runner.macros import expand_options

    plain = {"url": "http://10.0.0.5/", "status": [200, 301], "headers": {"X": "y"}}
    assert expand_options(plain, {"HOSTNAME": "web1"}, []) is plain
    one = {"url": "http://$HOSTNAME$/", "status": [200, 301], "headers": {"X": "y"}}
    got = expand_options(one, {"HOSTNAME": "web1"}, [])
    assert got == {"url": "http://web1/", "status": [200, 301], "headers": {"X": "y"}}
    assert got is not one and got["status"] is one["status"] and one["url"] == "http://$HOSTNAME$/"


def test_defaults_sit_behind_the_options_with_macros_expanded() -> None:
    """What a probe gets: its defaults under the check's own options, macros expanded in both.
    Only what changed is the check's own (its host's address is the very string); the rest is
    the plan's object, shared."""
    from augenmass.runner.macros import with_defaults

    address = "".join(["10.0.0.", "5"])  # its own object, as a config's text is
    macros = {"HOSTADDRESS": address, "HOSTNAME": "web1"}
    defaults = {"host": "$HOSTADDRESS$", "port": 80, "verify": True}
    own = {"url": "http://10.0.0.5/", "port": 8080, "headers": {"X": "y"}}
    got = with_defaults(own, defaults, macros, [])
    assert dict(got) == {**own, "host": "10.0.0.5", "verify": True}
    assert len(got) == 5 and list(got) == ["url", "port", "headers", "host", "verify"]
    assert got["host"] is address and got["headers"] is own["headers"] and got["port"] == 8080
    assert "nope" not in got and got.get("nope", 1) == 1
    with pytest.raises(KeyError):
        got["nope"]
    assert with_defaults(own, {"port": 80}, macros, []) is own  # nothing added, nothing new
    # a macro in the check's own options: that value is replaced, the others stay shared
    spec = {"host": "$HOSTADDRESS$", "url": "http://$HOSTNAME$/x", "headers": {"X": "y"}}
    unknown: list[str] = []
    got = with_defaults(spec, {"host": "$NOPE$", "port": "$NOPE$"}, macros, unknown)
    assert dict(got) == {
        "host": "10.0.0.5",
        "url": "http://web1/x",
        "headers": {"X": "y"},
        "port": "",
    }
    assert list(got) == ["host", "url", "headers", "port"] and len(got) == 4
    assert got["headers"] is spec["headers"] and unknown == ["NOPE"]
    many = {f"o{i}": f"$HOSTNAME$-{i}" for i in range(8)}
    assert with_defaults(many, {}, macros, []) == {f"o{i}": f"web1-{i}" for i in range(8)}


# Names that collide with built-ins, with each other and with ARGn, upper and lower case.
_VAR_NAMES = st.sampled_from(
    ["os", "port", "HOSTNAME", "SERVICEDESC", "ARG1", "arg2", "hostaddress", "x", "Port"]
)
_VARS = st.dictionaries(_VAR_NAMES, st.text(alphabet="ab$1", max_size=4), max_size=5)


@given(
    host_vars=_VARS,
    service_vars=_VARS,
    args=st.lists(st.sampled_from(["$HOSTNAME$", "$ARG1$", "$port$", "-w 5", "$_SERVICEOS$"])),
    with_service=st.booleans(),
    display=st.sampled_from(["", "Shown"]),
)
def test_shared_job_macros_equal_build_macros(
    host_vars: dict[str, str],
    service_vars: dict[str, str],
    args: list[str],
    with_service: bool,
    display: str,
) -> None:
    """The scheduler's macros (the host's part shared by its checks) are the same values as
    build_macros, for every clash of var names with built-ins and ARGn."""
    host = HostPlan("h1", address="10.0.0.9", display_name=display, vars=host_vars)
    spec = CheckSpec("plugin", ("x",), {"args": args} if args else {})
    service = (
        ServicePlan("h1", "svc", spec, display_name=display, vars=service_vars)
        if with_service
        else None
    )
    shared = job_macros(host_macros(host), service, spec)
    expected = build_macros(host, service, spec)
    assert dict(shared) == expected
    assert len(shared) == len(expected)
    assert shared.get("NO_SUCH_MACRO") is None and "NO_SUCH_MACRO" not in shared
    assert expand(["$HOSTNAME$/$SERVICEDESC$/$ARG1$"], shared) == expand(
        ["$HOSTNAME$/$SERVICEDESC$/$ARG1$"], expected
    )


def test_checks_of_one_host_share_its_macros() -> None:
    """One copy of the host's vars for all its checks, not one per check."""
    part = host_macros(HOST)
    one = job_macros(part, SERVICE, SPEC)
    two = job_macros(part, ServicePlan("web1", "ping", CheckSpec("tcp")), CheckSpec("tcp"))
    assert one["_HOSTOS"] == two["_HOSTOS"] == "linux"
    assert two["SERVICEDESC"] == "ping" and one["SERVICEDESC"] == "http"
    assert one._base is two._base  # type: ignore[attr-defined]
