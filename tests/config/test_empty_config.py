"""`require_hosts`: a config that loads but defines no host is refused by name (the server
calls it at start and on reload unless `allow_empty`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from augenmass.config import load_config, require_hosts
from augenmass.core.errors import ConfigError


@pytest.mark.parametrize(
    "text", ["", "# nothing yet\n", "---\n", "hosts:\n", "hosts: {}\ncontact_groups: {ops: []}\n"]
)
def test_a_config_without_hosts_loads_but_is_refused_naming_the_file(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "augenmass.yaml"
    path.write_text(text)
    plan = load_config(path)  # loading alone still works: tools like `simulate` may use it
    with pytest.raises(ConfigError) as info:
        require_hosts(plan, path)
    (problem,) = info.value.problems
    assert str(problem) == (
        f"{path}: hosts: no hosts are defined, so nothing would be monitored: refused "
        "(start the server with --allow-empty if that is meant)"
    )


def test_a_directory_is_named_as_given(tmp_path: Path) -> None:
    (tmp_path / "00-settings.yaml").write_text("settings: {timezone: UTC}\n")
    with pytest.raises(ConfigError, match=rf"^{tmp_path}: hosts: no hosts are defined"):
        require_hosts(load_config(tmp_path), tmp_path)


def test_one_host_without_any_service_is_enough(tmp_path: Path) -> None:
    path = tmp_path / "augenmass.yaml"
    path.write_text("hosts: {gateway: {address: 127.0.0.1, check: {type: icmp}}}\n")
    require_hosts(load_config(path), path)
