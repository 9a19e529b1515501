"""Check types come from the probe registry; a type that cannot load is a config error."""

from __future__ import annotations

from pathlib import Path

import pytest

from augenmass import probes
from augenmass.config import load_config
from augenmass.core.errors import ConfigError


def test_a_registered_probe_whose_module_is_missing_is_reported_not_crashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(probes.PROBES, "gopher", "augenmass.probes.no_such_module:GopherProbe")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("hosts:\n  h:\n    address: 127.0.0.1\n    check: {type: gopher}\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    (problem,) = err.value.problems
    assert problem.line == 4 and problem.path == "hosts.h.check.type"
    assert "check type 'gopher' is not available" in problem.message


def test_probe_options_are_validated_by_the_probes_own_model(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("hosts:\n  h:\n    address: 127.0.0.1\n    check: {type: tcp, port: 99999}\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert [(p.line, p.path) for p in err.value.problems] == [(4, "hosts.h.check.port")]


def test_services_marked_public_carry_only_what_the_status_page_may_show(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "settings: {status_page: {title: Party IT, groups: [Websites, Mail]}}\n"
        "hosts: {www: {address: 127.0.0.1}}\n"
        "services:\n"
        "  - {name: web, host: www, check: {type: dummy},\n"
        "     public: {name: Website, group: Websites}}\n"
        "  - {name: intern, host: www, check: {type: dummy}}\n"
        "  - {name: m, host: www, display_name: Mail in, public: true, check: {type: dummy}}\n"
    )
    plan = load_config(cfg)
    public = {s.name: s.public for s in plan.services.values()}
    assert public["intern"] is None
    assert public["web"] is not None and (public["web"].name, public["web"].group) == (
        "Website",
        "Websites",
    )
    assert public["m"] is not None and public["m"].name == "Mail in"
    assert public["web"].show_output is False
    assert plan.settings.status_page_groups == ("Websites", "Mail")
