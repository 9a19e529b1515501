"""Macro building and expansion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from runner_helpers import job

from augenmass.core.plan import CheckSpec, HostPlan, ServicePlan
from augenmass.runner import Runner
from augenmass.runner.macros import build_macros, expand, expand_argv

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
