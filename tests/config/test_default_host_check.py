"""A host that names no check gets settings.default_host_check (built in: a lenient ping);
`check: none` on a host or template, or the setting `none`, leaves it assumed UP."""

from __future__ import annotations

from pathlib import Path

import pytest

from augenmass.config import load_config, summarize
from augenmass.core.errors import ConfigError
from augenmass.core.plan import Plan


def plan_of(tmp_path: Path, text: str) -> Plan:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    return load_config(cfg)


def problems_of(tmp_path: Path, text: str) -> list[str]:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    return [str(p) for p in err.value.problems]


HOSTS = """
templates:
  quiet: {check: none}
  pinged: {check_interval: 2m, timeout: 20s}
hosts:
  router: {address: 127.0.0.1, check: {type: tcp, port: 80}}
  printer: {address: 127.0.0.2, parents: [router]}
  phone: {address: 127.0.0.3, parents: [router], use: pinged}
  camera: {address: 127.0.0.4, check: none}
  badge-reader: {address: 127.0.0.5, use: quiet}
"""


def test_hosts_without_a_check_are_pinged_like_check_host_alive(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, HOSTS)
    printer = plan.hosts["printer"]
    assert printer.default_check
    assert printer.check is not None and printer.check.type == "icmp"
    options = printer.check.options
    assert "host" not in options  # the probe's default: $HOSTADDRESS$
    # lenient like check_ping -w 3000,80% -c 5000,100%; few packets and a short timeout
    assert (options["warning_rtt"], options["critical_rtt"]) == ("3000", "5000")
    assert (options["warning_loss"], options["critical_loss"]) == ("80", "100")
    assert options["packets"] == 3 and printer.check.timeout == 5.0
    # its interval is the host's own policy: built in 5 minutes, or what a template says
    assert printer.policy.check_interval == 300.0
    assert plan.hosts["phone"].policy.check_interval == 120.0
    assert plan.hosts["phone"].check == printer.check  # the check's timeout is its own


def test_own_checks_and_opt_outs(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, HOSTS)
    router = plan.hosts["router"]
    assert router.check is not None and router.check.type == "tcp" and not router.default_check
    for name in ("camera", "badge-reader"):  # `check: none` on the host or its template
        assert plan.hosts[name].check is None and not plan.hosts[name].default_check
    assert summarize(plan).startswith(
        "5 hosts (2 by the default host check, 2 without check: assumed UP), 0 services"
    )


@pytest.mark.parametrize("off", ["none", "false", "null", "~"])
def test_the_setting_off_means_assumed_up(tmp_path: Path, off: str) -> None:
    plan = plan_of(tmp_path, f"settings: {{default_host_check: {off}}}\n{HOSTS}")
    assert plan.settings.default_host_check is None
    assert [h.name for h in plan.hosts.values() if h.check is not None] == ["router"]
    assert not any(h.default_check for h in plan.hosts.values())


def test_the_setting_may_name_another_check(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        "settings:\n  default_host_check: {type: tcp, port: 22}\n"
        "defaults: {timeout: 7s}\n"
        "hosts: {web: {address: 127.0.0.1}}\n",
    )
    web = plan.hosts["web"]
    assert web.default_check and web.check is not None
    assert (web.check.type, web.check.options["port"], web.check.timeout) == ("tcp", 22, 7.0)


def test_a_wrong_default_is_one_problem_at_the_setting(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "settings:\n  default_host_check: {type: icmp, packets: 0}\n"
        "hosts: {a: {address: 127.0.0.1}, b: {address: 127.0.0.2}}\n",
    )
    assert len(found) == 1, found
    assert "c.yaml:2: settings.default_host_check.packets:" in found[0]
    wrong = problems_of(tmp_path, "settings: {default_host_check: ping}\nhosts: {a: {}}\n")
    assert len(wrong) == 1 and "expected a check mapping with a `type`" in wrong[0], wrong


def test_none_is_for_hosts_only(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "hosts: {a: {address: 127.0.0.1}}\nservices:\n  - {name: s, host: a, check: none}\n",
    )
    assert len(found) == 1 and "`check: none` is for hosts only" in found[0], found
    # a service without any check keeps its own message
    found = problems_of(tmp_path, "hosts: {a: {}}\nservices:\n  - {name: s, host: a}\n")
    assert len(found) == 1 and "no check: set `check: {type: ...}`" in found[0], found
    found = problems_of(tmp_path, "hosts: {a: {check: nothing}}\n")
    assert len(found) == 1 and "or `none` (no check: the host is assumed UP)" in found[0]
