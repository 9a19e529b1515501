"""A valid multi-file directory resolves into the expected Plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from augenmass.config import load, load_config, summarize
from augenmass.core.errors import ConfigError
from augenmass.core.values import CheckKey

DATA = Path(__file__).parent / "testdata"


@pytest.fixture(scope="module")
def built():  # type: ignore[no-untyped-def]
    return load(DATA / "valid_dir")


def test_summary_counts_every_object(built) -> None:  # type: ignore[no-untyped-def]
    assert summarize(built.plan) == (
        "4 hosts (3 by the default host check), 5 services, 3 contacts, 2 contact groups, "
        "2 time periods"
    )


def test_multiple_inheritance_left_most_wins_and_vars_merge(built) -> None:  # type: ignore[no-untyped-def]
    svc = built.plan.services[CheckKey("www1", "website")]
    assert svc.policy.check_interval == 30.0  # quick (left) beats website
    assert svc.policy.max_check_attempts == 2  # quick beats base (via website)
    assert svc.policy.notification_interval == 3600.0  # only base sets it
    assert svc.policy.contact_groups == ("web-team",)
    assert svc.vars == {"owner": "web", "site": "hq", "speed": "fast"}
    assert svc.policy.retry_interval == 20.0  # from defaults


def test_apply_rules_by_tag_group_name_and_ignore(built) -> None:  # type: ignore[no-untyped-def]
    keys = {str(k) for k in built.plan.services}
    # disk goes to tag linux minus name www2; toner to group office
    assert keys == {"www1/website", "www2/website", "www1/disk", "printer/toner", "router/ping"}


def test_apply_rule_without_match_is_a_warning_not_an_error(built) -> None:  # type: ignore[no-untyped-def]
    assert any("'nowhere' matches no host" in w for w in built.warnings)


def test_check_specs_keep_argv_options_and_timeouts(built) -> None:  # type: ignore[no-untyped-def]
    disk = built.plan.services[CheckKey("www1", "disk")].check
    assert disk.command == ("check_disk", "-w", "10%", "-c", "5%", "-p", "/")
    assert disk.timeout == 30.0 and disk.timeout_state == 2 and disk.exit_code_state == 3
    web = built.plan.services[CheckKey("www2", "website")].check
    assert web.type == "tcp" and web.timeout == 15.0  # defaults.timeout
    # what the config chose; the probe's defaults (host: $HOSTADDRESS$, ...) apply when it runs
    assert web.options == {"port": 8080, "warning": "2", "critical": "5"}


def test_hosts_parents_checks_and_notify_on(built) -> None:  # type: ignore[no-untyped-def]
    plan = built.plan
    assert plan.hosts["www1"].check is not None and plan.hosts["www1"].check.type == "dummy"
    assert not plan.hosts["www1"].default_check
    www2 = plan.hosts["www2"]  # names no check: pinged (settings.default_host_check)
    assert www2.default_check and www2.check is not None and www2.check.type == "icmp"
    assert plan.hosts["www2"].vars == {"rack": "7"}
    assert sorted(plan.children_of("router")) == ["printer", "www1", "www2"]
    assert "down" in plan.hosts["router"].policy.notify_on
    assert plan.hosts["www1"].source.file == "valid_dir/20-hosts.yaml"
    assert plan.hosts["www1"].source.line == 3


def test_notification_rule_adds_groups_and_contacts_resolve(built) -> None:  # type: ignore[no-untyped-def]
    plan = built.plan
    toner = plan.services[CheckKey("printer", "toner")]
    assert toner.policy.contact_groups == ("office",)
    assert toner.policy.notify_on == frozenset({"warning", "critical", "recovery"})
    assert plan.contact_groups == {
        "web-team": ("it-lead", "web-admin"),
        "office": ("office-manager",),
    }
    assert plan.contacts["it-lead"].language == "de"
    assert plan.settings.timezone == "Europe/Berlin"
    assert plan.settings.max_concurrent_checks == 50
    assert plan.settings.retention.raw == 86400.0


def test_timeperiod_from_config_excludes_holidays(built) -> None:  # type: ignore[no-untyped-def]
    office = built.plan.timeperiods["office-hours"]
    # Thursday 2026-12-24 10:00 Berlin = 09:00 UTC: a holiday, so outside
    assert not office.contains(1798102800.0)
    assert office.contains(1798102800.0 - 86400)  # Wednesday 10:00
    assert built.plan.timeperiods["24x7"].contains(0.0)


def test_cross_file_duplicates_name_both_locations() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(DATA / "dup_dir")
    assert [str(p) for p in info.value.problems] == [
        "dup_dir/b.yaml:3: hosts.www1: duplicate host 'www1' (also defined at dup_dir/a.yaml:4)",
        "dup_dir/b.yaml:5: services[0]: duplicate service 'ping' on host 'www1' "
        "(also defined at dup_dir/a.yaml:6)",
    ]


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"no \*.yaml or \*.yml files"):
        load_config(tmp_path)


def test_empty_file_is_an_empty_plan(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n")
    assert summarize(load_config(path)) == (
        "0 hosts, 0 services, 0 contacts, 0 contact groups, 0 time periods"
    )


def test_probe_workers_setting(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("settings:\n  probe_workers: 0\nhosts: {h: {address: 127.0.0.1}}\n")
    assert load_config(cfg).settings.probe_workers == 0
    cfg.write_text("hosts: {h: {address: 127.0.0.1}}\n")
    assert load_config(cfg).settings.probe_workers is None  # automatic
    cfg.write_text("settings:\n  probe_workers: -1\nhosts: {h: {address: 127.0.0.1}}\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert [(p.line, p.path) for p in err.value.problems] == [(2, "settings.probe_workers")]


def test_equal_tag_lists_are_one_object(built) -> None:  # type: ignore[no-untyped-def]
    """www1 and www2 are tagged [web, linux] in two places of the file: one tuple for both,
    as a list that thousands of hosts repeat is held once."""
    www1, www2 = built.plan.hosts["www1"], built.plan.hosts["www2"]
    assert www1.tags == ("web", "linux") and www1.tags is www2.tags
    assert built.plan.hosts["printer"].tags == ("printer",)
