"""Hostile YAML is rejected quickly with a clear message; nothing is ever constructed."""

from __future__ import annotations

from pathlib import Path

import pytest

from augenmass.config import load_config
from augenmass.config.yamlload import MAX_FILE_BYTES
from augenmass.core.errors import ConfigError


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p).removeprefix(f"{path}:") for p in info.value.problems]


def test_billion_laughs_is_rejected(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    (problem,) = problems(tmp_path, "\n".join(lines) + "\n")
    assert "after expanding aliases (alias bomb?)" in problem


def test_recursive_alias_and_deep_nesting(tmp_path: Path) -> None:
    assert "recursive alias" in problems(tmp_path, "a: &a [*a]\n")[0]
    assert "nesting deeper than 64" in problems(tmp_path, "a: " + "[" * 200 + "]" * 200)[0]


@pytest.mark.slow
def test_nesting_beyond_the_parser_stack_is_an_error_not_a_crash(tmp_path: Path) -> None:
    assert "too deep" in problems(tmp_path, "a: " + "[" * 3000 + "]" * 3000 + "\n")[0]


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError, match="the limit is 5 MiB"):
        load_config(path)


def test_non_utf8_and_non_mapping_top_level(tmp_path: Path) -> None:
    assert problems(tmp_path, "- a\n- b\n") == ["1: the top level must be a mapping of sections"]
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"hosts:\n  h\xe4: {}\n")
    with pytest.raises(ConfigError, match=r"latin1.yaml:2: not valid UTF-8"):
        load_config(path)


def test_unknown_section_and_merge_keys(tmp_path: Path) -> None:
    assert problems(tmp_path, "host:\n  a: {}\n") == [
        "1: host: unknown section (did you mean 'hosts'?)"
    ]
    text = "hosts:\n  a: &base {tags: [web]}\n  b: {<<: *base, address: 127.0.0.1}\n"
    plan = load_config(_write(tmp_path, text))
    assert plan.hosts["b"].tags == ("web",)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ok.yaml"
    path.write_text(text)
    return path


def test_yes_no_stay_text_and_hostile_strings_are_kept_verbatim(tmp_path: Path) -> None:
    text = (
        "hosts:\n  h:\n    vars: {answer: no, shell: '$(id); rm -rf /'}\n"
        "services:\n  - {name: s, host: h, check: {type: plugin, command: [echo, '`id`']}}\n"
    )
    plan = load_config(_write(tmp_path, text))
    assert plan.hosts["h"].vars == {"answer": "no", "shell": "$(id); rm -rf /"}
    assert plan.services_of("h")[0].check.command == ("echo", "`id`")
