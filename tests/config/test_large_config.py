"""A generated 50,000-service config (bench/config_load.py: sites, routers, template chains,
apply rules, explicit services) loads completely and correctly. How fast is measured in
bench/, not here."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from augenmass.config import load_config
from augenmass.core.values import CheckKey

BENCH = Path(__file__).resolve().parents[2] / "bench" / "config_load.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("config_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["file", "dir"])
def test_a_generated_50000_service_config_loads_completely(tmp_path: Path, layout: str) -> None:
    generator = _generator()
    path = generator.write_config(
        tmp_path / ("c.yaml" if layout == "file" else "conf.d"), 50_000, layout
    )
    plan = load_config(path)
    assert len(plan.services) == 50_000
    assert len(plan.hosts) == 10_000 + 10_000 // generator.SERVERS_PER_SITE  # servers + routers

    web = plan.hosts["web000000.site0000"]
    assert web.parents == ("gw-site0000",) and web.display_name == "Primary web"
    assert web.check is not None and web.check.options["port"] == 22  # generic-host, 2 levels up
    assert web.vars == {"rack": "r00", "vhost": "www.example.org", "os": "debian", "ssh_port": "22"}
    assert web.policy.contact_groups == ("web-team",)

    site = plan.services[CheckKey("web009999.site0199", "website")]
    assert site.check.type == "http" and site.policy.check_interval == 60.0
    assert site.public is not None and site.public.name == "Website 9999"
    assert [e.contact_groups for e in site.policy.escalations] == [("management",)]
    cert = plan.services[CheckKey("web009999.site0199", "certificate")]
    assert "web-team" in cert.policy.contact_groups  # added by a notification rule

    applied = plan.services[CheckKey("db009997.site0199", "disk")]  # from an apply rule
    assert applied.check.command[:3] == ("check_disk", "-w", "$ARG1$")
    replication = plan.services[CheckKey("db000001.site0000", "db-replication")]
    assert replication.check.timeout == 20.0 and replication.policy.first_notification_delay == 300
    assert "management" in replication.policy.contact_groups
    # checks written alike share one validated options mapping (validated once per load)
    other = plan.services[CheckKey("db009997.site0199", "db-replication")]
    assert other.check.options is replication.check.options
