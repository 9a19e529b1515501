"""`agents:` and `agent:`: which hosts an agent runs, its own host, the mistakes named."""

from __future__ import annotations

from pathlib import Path

import pytest

from augenmass.config import load_config
from augenmass.core.errors import ConfigError


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "augenmass.yaml"
    path.write_text(text)
    return load_config(path)


def _problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    return "\n".join(str(p) for p in info.value.problems)


def test_hosts_by_tag_template_and_key_get_the_agent_as_parent(tmp_path: Path) -> None:
    plan = _load(
        tmp_path,
        """
agents:
  office: {hosts: {tag: office}, timeout: 2m}
templates:
  in-office: {agent: office}
hosts:
  printer: {tags: [office], parents: [switch]}
  switch: {use: in-office}
  nas: {agent: office}
  web: {}
""",
    )
    office = plan.agents["office"]
    assert office.hosts == ("nas", "office", "printer", "switch")
    assert office.timeout == 120
    assert plan.hosts["printer"].parents == ("office", "switch")
    assert plan.hosts["switch"].parents == ("office",)
    assert plan.hosts["web"].agent is None and plan.hosts["web"].parents == ()
    # the agent is a host of its name, without a check: its results are its heartbeat
    assert plan.hosts["office"].check is None and plan.hosts["office"].agent == "office"


def test_mistakes_are_named(tmp_path: Path) -> None:
    text = _problems(
        tmp_path,
        """
agents:
  office: {}
  branch: {hosts: {all: true}}
hosts:
  nas: {agent: ofice}
  office: {check: {type: dummy, state: 0}}
  shop: {}
""",
    )
    assert "unknown agent 'ofice'" in text and "did you mean 'office'" in text
    assert "its heartbeat is its host check; remove `check:`" in text


def test_an_agent_behind_its_own_host_is_a_cycle(tmp_path: Path) -> None:
    text = _problems(
        tmp_path,
        """
agents:
  office: {}
hosts:
  office: {parents: [router]}
  router: {agent: office}
""",
    )
    assert "parent cycle" in text
