"""The fast path of a load (config/fastvalid.py: each distinct field value validated once;
policies and check specs built once and shared) gives the same Plan and the same errors as
validating every object whole. How much faster it is is measured in bench/startup.py."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator

from augenmass.config import fastvalid, load, resolve
from augenmass.config.fastvalid import FieldCache, field_independent
from augenmass.config.schema import HostModel, ServiceModel
from augenmass.core.errors import ConfigError
from augenmass.core.options import CheckModel
from augenmass.core.plan import Plan

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "testdata"
VALID = [ROOT / "examples" / "config", DATA / "valid_dir"]
INVALID = sorted((DATA / "invalid").glob("*.yaml"))


@pytest.fixture
def slow_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every object validated whole, every policy and check spec built anew (the old way)."""
    monkeypatch.setattr(fastvalid.FieldCache, "fast", lambda self, data: None)
    plain = resolve.build_policy

    def build_policy(*args: Any) -> Any:
        return plain(*args[:4])  # without the load's cache

    monkeypatch.setattr(resolve, "build_policy", build_policy)
    yield


def _startup() -> ModuleType:
    spec = importlib.util.spec_from_file_location("startup", ROOT / "bench" / "startup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _same(a: Plan, b: Plan) -> bool:
    """Plans equal; time periods (no __eq__, not touched by the fast path) by their names."""
    return dataclasses.replace(a, timeperiods={}) == dataclasses.replace(
        b, timeperiods={}
    ) and list(a.timeperiods) == list(b.timeperiods)


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path)
    return [str(p) for p in caught.value.problems]


def test_the_host_and_service_models_validate_field_by_field() -> None:
    # the fast path is only right for models without cross-field validation; a model
    # validator added to one of them switches its fast path off (and this test says so)
    assert field_independent(HostModel) and field_independent(ServiceModel)
    assert FieldCache(HostModel).usable


def test_a_model_whose_fields_depend_on_each_other_takes_the_usual_way() -> None:
    class Pair(BaseModel):
        model_config = ConfigDict(extra="forbid")
        low: int = 0
        high: int = 0

        @model_validator(mode="after")
        def _ordered(self) -> Pair:
            assert self.low <= self.high, "low above high"
            return self

    class Reads(BaseModel):
        model_config = ConfigDict(extra="forbid")
        unit: str = "s"
        value: int = 0

        @field_validator("value")
        @classmethod
        def _unit(cls, value: int, info: ValidationInfo) -> int:
            return value * 60 if info.data.get("unit") == "m" else value

    assert not field_independent(Pair) and FieldCache(Pair).fast({"low": 1}) is None
    assert not field_independent(Reads) and FieldCache(Reads).fast({"value": 1}) is None
    assert not field_independent(CheckModel)  # its threshold validator reads the field's name


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_fast_and_slow_path_give_the_same_plan(path: Path, request: pytest.FixtureRequest) -> None:
    fast = load(path)
    request.getfixturevalue("slow_path")
    slow = load(path)
    assert _same(fast.plan, slow.plan)
    assert fast.warnings == slow.warnings


def test_a_generated_large_config_gives_the_same_plan(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    path = _startup().write_config(tmp_path / "c.yaml", 600, port=9)
    fast = load(path).plan
    assert len(fast.hosts) == 600 and len(fast.services) == 1200
    request.getfixturevalue("slow_path")
    assert _same(load(path).plan, fast)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_fast_and_slow_path_report_the_same_errors(
    path: Path, request: pytest.FixtureRequest
) -> None:
    fast = _problems(path)
    request.getfixturevalue("slow_path")
    assert _problems(path) == fast


def test_an_error_deep_in_a_large_config_keeps_file_line_and_key_path(tmp_path: Path) -> None:
    """Thousands of hosts pass the fast path; the one with a bad value is validated whole and
    reported with its place, as are a bad value that an earlier host had right and a key
    only one host has."""
    path = _startup().write_config(tmp_path / "big.yaml", 3000, port=9)
    lines = path.read_text().splitlines()
    at = {line.split(":")[0].strip(): n for n, line in enumerate(lines) if "{address:" in line}
    bad_tags = at["h002500.site0025"]
    lines[bad_tags] = lines[bad_tags].replace("tags: [linux, site0025]", "tags: [linux, [x]]")
    bad_key = at["h002999.site0029"]
    lines[bad_key] = lines[bad_key].replace("use:", "adress: 127.0.0.9, use:")
    negative = next(n for n, line in enumerate(lines) if "host: h001234.site0012" in line)
    lines[negative] = lines[negative].replace("contains: ok", "contains: ok, timeout: -5s")
    path.write_text("\n".join(lines) + "\n")

    problems = _problems(path)
    assert problems == [
        f"{path}:{negative + 1}: services[1235].check.timeout: "
        + _message(problems, "services[1235].check.timeout"),
        f"{path}:{bad_tags + 1}: hosts.h002500.site0025.tags[1]: input should be a valid "
        "string, got a list",
        f"{path}:{bad_key + 1}: hosts.h002999.site0029.adress: unknown key (did you mean "
        "'address'?)",
    ]


def _message(problems: list[str], path: str) -> str:
    found = [p for p in problems if f" {path}: " in p]
    assert found, problems
    return found[0].split(f" {path}: ", 1)[1]


# (key, value) pairs where a loose reading would differ: strict types, 1 / 1.0 / true / "1",
# a text where a list belongs, `check: none`
EDGES = [
    ("max_check_attempts", 3),
    ("max_check_attempts", "3"),
    ("max_check_attempts", 3.0),
    ("max_check_attempts", True),
    ("active_checks", True),
    ("active_checks", 1),
    ("active_checks", "yes"),
    ("parents", "x"),
    ("parents", ["x"]),
    ("tags", "linux"),
    ("tags", ["linux", ["x"]]),
    ("address", 5),
    ("display_name", 5),
    ("check", "none"),
    ("check", "bogus"),
    ("check_interval", "5m"),
    ("check_interval", 0),
    ("vars", {"a": 1}),
]


def test_field_by_field_accepts_and_refuses_what_the_whole_model_does() -> None:
    cache = FieldCache(HostModel)
    for key, value in EDGES + EDGES:  # twice: the second time from the memo
        fast = cache.fast({key: value})
        try:
            slow: HostModel | None = HostModel.model_validate({key: value})
        except ValueError:
            slow = None
        assert (fast is None) == (slow is None), (key, value)
        if fast is not None:
            assert fast == slow and fast.model_fields_set == slow.model_fields_set, (key, value)
