"""Invalid fixtures: every problem of a file is reported at once, with file, line and path."""

from __future__ import annotations

from pathlib import Path

import pytest

from augenmass.config import load_config
from augenmass.core.errors import ConfigError

INVALID = Path(__file__).parent / "testdata" / "invalid"
CASES = sorted(p.stem for p in INVALID.glob("*.expected"))


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("case", CASES)
def test_invalid_fixture_reports_exactly_the_expected_problems(case: str) -> None:
    path = INVALID / f"{case}.yaml"
    expected = (INVALID / f"{case}.expected").read_text().replace("{file}", str(path)).splitlines()
    assert problems_of(path) == expected


def test_yaml_syntax_error_names_file_and_line() -> None:
    path = INVALID / "syntax.yaml"
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:3: YAML syntax error:")


def test_error_text_lists_all_problems_one_per_line() -> None:
    path = INVALID / "many.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert len(str(info.value).splitlines()) == len(info.value.problems) == 11
