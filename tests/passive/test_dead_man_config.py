"""Config of dead-man checks and ping keys: what is refused, with file, line and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from augenmass.config import load_config
from augenmass.core.errors import ConfigError

KEY = "abcdefghijklmnopqrstuvwxyz0123"


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "augenmass.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [f"{p.path}: {p.message}" for p in info.value.problems]


def test_a_dead_man_check_needs_no_check_and_allows_passive(tmp_path: Path) -> None:
    path = tmp_path / "augenmass.yaml"
    path.write_text(
        f"hosts: {{nas: {{}}}}\nservices:\n"
        f"  - {{name: backup, host: nas, expect_every: 1d, grace: 2h, ping_key: {KEY}}}\n"
    )
    svc = load_config(path).services[next(iter(load_config(path).services))]
    assert svc.policy.accepts_passive and not svc.policy.active_checks
    assert svc.policy.freshness_threshold == 26 * 3600 and svc.policy.max_check_attempts == 1
    assert svc.ping_key == KEY and KEY not in repr(svc)


def test_mistakes_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    problems = _problems(
        tmp_path,
        # nas: `check: none`, else its default ping would replace a passive DOWN in time
        "hosts:\n  nas: {passive_checks: true, check: none}\n  web: {}\nservices:\n"
        "  - {name: a, host: web, expect_every: 1d, active_checks: true}\n"
        "  - {name: b, host: web, expect_every: 1d, check: {type: dummy}}\n"
        "  - {name: c, host: web, expect_every: 1d, ping_key: short}\n"
        "  - {name: d, host: web, check: {type: dummy}, ping_key: " + KEY + "}\n"
        '  - {name: e, host: web, expect_every: 1d, ping_key: "${NO_SUCH_KEY_VAR}"}\n'
        "  - {name: f, host: web, expect_every: 1d, freshness_threshold: 1h}\n",
    )
    text = "\n".join(problems)
    assert "hosts.nas.passive_checks: a host without a check" in text
    assert "services[0].active_checks: a dead-man check" in text
    assert "services[1].check: a dead-man check (expect_every) runs no check" in text
    assert "services[2].ping_key: a ping key must be 22-200 characters" in text
    assert "services[3].ping_key: a ping key needs passive results" in text
    assert "services[4].ping_key: environment variable NO_SUCH_KEY_VAR is not set" in text
    assert "services[5].freshness_threshold: use either expect_every" in text
    assert KEY not in text and "short" not in text
