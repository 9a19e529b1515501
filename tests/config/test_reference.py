"""The generated configuration reference and JSON Schema: up to date with the models, and the
schema accepts what the loader accepts (every example) and refuses what it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs  # a declared test dependency (jsonschema itself is not in the locked venv)
import pytest
from typer.testing import CliRunner

from augenmass.cli.main import app
from augenmass.config import load_config
from augenmass.config.checks import check_model, check_types
from augenmass.config.reference import (
    EXAMPLES,
    REFERENCE_PATH,
    SCHEMA_PATH,
    SUMMARIES,
    json_schema,
    json_schema_text,
    markdown,
)
from augenmass.config.yamlload import load_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
TESTDATA = Path(__file__).parent / "testdata"
REGENERATE = "run `make docs` (or `augenmass config-reference [--json-schema] -o FILE`)"


def _yaml_files(*dirs: Path) -> list[Path]:
    return sorted(p for d in dirs for p in d.rglob("*") if p.suffix in (".yaml", ".yml"))


def _data(path: Path) -> dict[str, Any]:
    parsed, problems = load_yaml(path, path.name)
    assert parsed is not None and not problems, problems
    return parsed.data


@pytest.fixture(scope="module")
def validator() -> Any:
    return jsonschema_rs.Draft7Validator(json_schema())


def _errors(validator: Any, data: Any) -> list[str]:
    return [f"{list(e.instance_path)}: {e.message[:300]}" for e in validator.iter_errors(data)]


@pytest.mark.parametrize(
    ("path", "text"),
    [(REFERENCE_PATH, markdown), (SCHEMA_PATH, json_schema_text)],
    ids=["configuration.md", "schema"],
)
def test_committed_docs_match_the_models(path: str, text: Any) -> None:
    committed = (ROOT / path).read_text(encoding="utf-8")
    assert committed == text(), f"{path} is behind the configuration models: {REGENERATE}"


def test_the_command_prints_what_is_committed(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["config-reference", "--json-schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json.loads((ROOT / SCHEMA_PATH).read_text())
    out = tmp_path / "configuration.md"
    result = CliRunner().invoke(app, ["config-reference", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == (ROOT / REFERENCE_PATH).read_text(encoding="utf-8")


def test_schema_is_a_valid_draft7_schema() -> None:
    meta = jsonschema_rs.Draft7Validator({"$ref": "http://json-schema.org/draft-07/schema#"})
    assert meta.is_valid(json_schema())


@pytest.mark.parametrize(
    "path",
    _yaml_files(EXAMPLES_DIR, TESTDATA / "valid_dir"),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_example_validates_against_the_schema(validator: Any, path: Path) -> None:
    assert _errors(validator, _data(path)) == []


@pytest.mark.parametrize("path", _yaml_files(EXAMPLES_DIR), ids=lambda p: p.name)
def test_examples_name_the_schema_for_editors(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    assert (path.parent / first.removeprefix(prefix)).resolve() == ROOT / SCHEMA_PATH


@pytest.mark.parametrize(
    "name", ["typo", "plugin_string", "refs"], ids=["unknown key", "argv as string", "values"]
)
def test_schema_refuses_what_the_loader_refuses(validator: Any, name: str) -> None:
    assert _errors(validator, _data(TESTDATA / "invalid" / f"{name}.yaml"))


def test_check_options_follow_the_type(validator: Any) -> None:
    def config(check: dict[str, Any]) -> dict[str, Any]:
        return {"hosts": {"web": {"address": "192.0.2.1", "check": check}}}

    assert _errors(validator, config({"type": "tcp", "port": 22, "timeout": "5s"})) == []
    assert _errors(validator, config({"type": "http", "path": "/health", "critical": 5})) == []
    # `path` is an http option, not a tcp one; `port` is required for tcp
    assert _errors(validator, config({"type": "tcp", "port": 22, "path": "/"}))
    assert _errors(validator, config({"type": "tcp"}))
    assert _errors(validator, config({"type": "no-such-type"}))
    union = json_schema()["definitions"]["check"]
    assert union["properties"]["type"]["enum"] == check_types()
    consts = [
        json_schema()["definitions"][ref["$ref"].rsplit("/", 1)[1]]["properties"]["type"]["const"]
        for ref in union["oneOf"]
    ]
    assert consts == check_types()


def test_yaml_spellings_the_loader_takes_are_valid(validator: Any) -> None:
    """Durations with units, states by name, one name for a list, numbers as text."""
    data = {
        "defaults": {"check_interval": "1h30m", "retry_interval": 20, "timeout_state": "CRITICAL"},
        "contact_groups": {"ops": "alice", "web": ["alice"], "db": {"members": "alice"}},
        "services": {"ping": {"host": "web", "notify": "ops", "check": {"type": "icmp"}}},
        "hosts": {"web": {"vars": {"port": 8080, "tls": True}}},
        "timeperiods": {"office": {"monday-friday": "08:00-18:00", "dates": ["2026-12-24"]}},
    }
    assert _errors(validator, data) == []
    assert _errors(validator, {"defaults": {"check_interval": "5 minutes"}})
    assert _errors(validator, {"defaults": {"timeout_state": "bad"}})


@pytest.mark.parametrize("kind", check_types())
def test_every_check_type_is_documented_with_a_working_example(kind: str) -> None:
    from ruamel.yaml import YAML

    assert kind in SUMMARIES, f"add a one-line summary of {kind!r} to config.reference.SUMMARIES"
    assert kind in EXAMPLES, f"add an example check of {kind!r} to config.reference.EXAMPLES"
    options = dict(YAML(typ="safe", pure=True).load(EXAMPLES[kind]))
    assert options.pop("type") == kind
    model = check_model(kind)
    assert not isinstance(model, str), model
    model.model_validate(options)


def test_every_key_has_a_meaning() -> None:
    missing = [
        f"{name}.{key}"
        for name, definition in json_schema()["definitions"].items()
        for key, value in definition.get("properties", {}).items()
        if key != "type" and not value.get("description")
    ]
    assert missing == [], "add Field(description=...) to these keys, then " + REGENERATE


def test_section_examples_in_the_reference_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The YAML snippets of the reference form a configuration the loader accepts."""
    from augenmass.config.reference import SECTION_EXAMPLES

    monkeypatch.setenv("SMTP_PASSWORD", "not-a-real-one")
    monkeypatch.setenv("HOOK_SECRET", "not-a-real-one")
    for section, text in SECTION_EXAMPLES.items():
        (tmp_path / f"{section}.yaml").write_text(text + "\n", encoding="utf-8")
    # the snippets refer to each other's names; add the few they only mention
    (tmp_path / "zz-extra.yaml").write_text(
        "hosts:\n  router: {address: 192.0.2.1}\n", encoding="utf-8"
    )
    plan = load_config(tmp_path)
    assert plan.hosts and plan.services
