"""Every duration of the config has an upper bound: beyond it the config is refused with file,
line, key path and the bound. `check_interval: 1e29` used to load, and the check never ran."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from augenmass.config import load_config
from augenmass.config.reference import build_schema
from augenmass.core.errors import ConfigError

HOST = "hosts:\n  h: {address: 127.0.0.1}\n"


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p).removeprefix(f"{path}:") for p in info.value.problems]


def loads(tmp_path: Path, text: str) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(text)
    load_config(path)


@pytest.mark.parametrize(
    ("section", "key", "too_long", "bound"),
    [
        ("defaults", "check_interval", "1e29", "1e+29 s is longer than the limit of 1d (86,400 s)"),
        ("defaults", "retry_interval", "25h", "1d1h is longer than the limit of 1d (86,400 s)"),
        ("defaults", "timeout", "2h", "2h is longer than the limit of 1h (3,600 s)"),
        ("defaults", "freshness_threshold", "91d", "91d is longer than the limit of 90d"),
        ("defaults", "notification_interval", "31d", "31d is longer than the limit of 30d"),
        ("defaults", "first_notification_delay", "2d", "2d is longer than the limit of 1d"),
        ("settings", "max_check_spread", "2d", "2d is longer than the limit of 1d"),
        ("settings", "self_metrics_interval", "2d", "2d is longer than the limit of 1d"),
        ("notifications", "group_wait", "2d", "2d is longer than the limit of 1d"),
        ("notifications", "retry_max", "2d", "2d is longer than the limit of 1d"),
    ],
)
def test_a_duration_over_its_bound_names_file_line_path_and_bound(
    tmp_path: Path, section: str, key: str, too_long: str, bound: str
) -> None:
    text = f"{HOST}{section}:\n  {key}: {too_long}\n"
    (problem,) = problems(tmp_path, text)
    assert problem.startswith(f"4: {section}.{key}: {bound}")


def test_nested_durations_are_bounded_too(tmp_path: Path) -> None:
    text = (
        "settings:\n  retention: {hourly: 7301d}\n"
        "notifications:\n  smtp: {host: 127.0.0.1, timeout: 61m}\n"
        "defaults:\n  escalations: [{first: 2, after: 31d}]\n"
        "hosts:\n  h: {check: {type: tcp, port: 22, timeout: 3601}}\n"
    )
    assert problems(tmp_path, text) == [
        "2: settings.retention.hourly: 7301d is longer than the limit of 7300d (630,720,000 s)",
        "4: notifications.smtp.timeout: 1h1m is longer than the limit of 1h (3,600 s)",
        "6: defaults.escalations[0].after: 31d is longer than the limit of 30d (2,592,000 s)",
        "8: hosts.h.check.timeout: 1h1s is longer than the limit of 1h (3,600 s)",
    ]


def test_the_bounds_themselves_are_accepted(tmp_path: Path) -> None:
    loads(
        tmp_path,
        HOST + "defaults: {check_interval: 1d, retry_interval: 86400, timeout: 1h, "
        "freshness_threshold: 90d, notification_interval: 30d}\n"
        "settings: {retention: {raw: 7300d}}\n",
    )


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "-5", "'-5s'", "1" + "0" * 400])
def test_not_a_number_infinite_negative_and_huge_are_refused(tmp_path: Path, value: str) -> None:
    (problem,) = problems(tmp_path, f"{HOST}defaults:\n  check_interval: {value}\n")
    assert problem.startswith("4: defaults.check_interval: invalid duration")


def _durations(value: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every schema node our generator marked as a duration, with where it is."""
    found = []
    if isinstance(value, dict):
        if "duration" in str(value.get("x-augenmass-kind", "")):
            found.append((path, value))
        for key, item in value.items():
            found += _durations(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _durations(item, f"{path}/{index}")
    return found


def test_every_duration_of_every_model_has_a_bound() -> None:
    """A new duration key (a probe option, a channel's setting ...) cannot forget its bound:
    the fields offer only bounded duration types, and this walks all of them."""
    durations = _durations(build_schema())
    assert len(durations) > 20  # the walk finds them: policy, settings, checks, channels
    unbounded = [path for path, node in durations if "maximum" not in node]
    assert unbounded == []
