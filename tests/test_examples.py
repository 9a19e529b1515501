"""Every example configuration loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from augenmass.config import load_config

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CONFIGS = sorted(p for p in EXAMPLES.iterdir() if p.is_dir() or p.suffix in (".yaml", ".yml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_example_loads(path: Path) -> None:
    plan = load_config(path)
    assert plan.hosts and plan.services


def test_example_models_the_organisation() -> None:
    plan = load_config(EXAMPLES / "config")
    printer = plan.hosts["office-printer"]
    assert printer.parents == ("office-router",)
    # no check of their own: pinged by default, so "router down => they are UNREACHABLE"
    for name in ("office-printer", "office-phone-1", "office-phone-2"):
        host = plan.hosts[name]
        assert host.default_check and host.check is not None and host.check.type == "icmp"
    toner = next(s for s in plan.services.values() if s.name == "toner")
    assert toner.policy.max_check_attempts == 1
    assert "office" in toner.policy.contact_groups
    # toner: at once, day or night ("waiting will not refill toner")
    manager = plan.contacts["office-manager"]
    assert manager.notification_period is None
    assert toner.policy.notification_period is None and toner.policy.first_notification_delay == 0
    web = [s for s in plan.services.values() if s.name == "website"]
    assert {s.host for s in web} == {"www1", "www2"}  # the ticket system has its own check
    assert all(s.policy.max_check_attempts == 3 and s.policy.retry_interval == 20 for s in web)
    assert {s.name for s in plan.services_of("tickets")} == {"tickets", "certificate"}
    certs = [s for s in plan.services.values() if s.name == "certificate"]
    assert {s.host for s in certs} == {"www1", "www2", "tickets"}
    for cert in certs:  # every few hours, no fast retries, a reminder once a day
        assert cert.policy.check_interval == 6 * 3600
        assert cert.policy.retry_interval >= 3600
        assert cert.policy.notification_interval == 24 * 3600
    # the queue is measured where it lies: the machine augenmass runs on
    [queue] = [s for s in plan.services.values() if s.name == "mail-queue"]
    assert queue.host == "monitor"
    [uplink] = [s for s in plan.services.values() if s.name == "uplink"]
    assert uplink.check.options["interface"] == "eth0"


def test_example_links_notifications_to_the_web_ui() -> None:
    assert load_config(EXAMPLES / "config").settings.base_url == "http://127.0.0.1:8080"
