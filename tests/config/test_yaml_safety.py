"""Hostile YAML is rejected quickly with a clear message; nothing is ever constructed."""

from __future__ import annotations

from pathlib import Path

import pytest

from augenmass.config import load_config
from augenmass.config.yamlload import (
    MAX_ALIAS_VALUES,
    MAX_CONFIG_BYTES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
)
from augenmass.core.errors import ConfigError


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p).removeprefix(f"{path}:") for p in info.value.problems]


def test_billion_laughs_is_refused_before_copying_naming_the_limit(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    (problem,) = problems(tmp_path, "\n".join(lines) + "\n")
    assert f"aliases copy more values than the limit of {MAX_ALIAS_VALUES:,}" in problem
    assert "alias bomb?" in problem


@pytest.mark.slow
def test_many_merges_within_the_limit_load(tmp_path: Path) -> None:
    """A base merged into each of 30,000 hosts copies 210,000 values, more than it writes."""
    hosts = "".join(
        f"  h{i}: {{<<: *base, address: 127.0.0.{i % 250 + 1}}}\n" for i in range(30_000)
    )
    text = f"templates:\n  t: &base {{tags: [a, b, c], vars: {{x: '1', y: '2'}}}}\nhosts:\n{hosts}"
    plan = load_config(_write(tmp_path, text))
    assert len(plan.hosts) == 30_000 and plan.hosts["h29999"].tags == ("a", "b", "c")
    assert plan.hosts["h29999"].vars == {"x": "1", "y": "2"}


def test_aliases_within_the_limit_are_copies_with_the_anchor_lines(tmp_path: Path) -> None:
    text = (
        "templates:\n  t: {check: &c {type: tcp, port: 22}}\n"
        "hosts:\n  a: {check: *c}\n  b:\n    check: *c\n"
    )
    plan = load_config(_write(tmp_path, text))
    assert plan.hosts["a"].check == plan.hosts["b"].check
    assert plan.hosts["a"].check is not None and plan.hosts["a"].check.options["port"] == 22
    bad = text.replace("port: 22", "port: 70000")
    found = problems(tmp_path, bad)
    # each copy is reported at its own key path, with the line of the value it copies
    assert "2: hosts.a.check.port: input should be less than or equal to 65535" in found
    assert "2: hosts.b.check.port: input should be less than or equal to 65535" in found


def test_recursive_alias_and_deep_nesting(tmp_path: Path) -> None:
    assert "recursive alias" in problems(tmp_path, "a: &a [*a]\n")[0]
    deep = problems(tmp_path, "a: " + "[" * 200 + "]" * 200)[0]
    assert f"nesting deeper than the limit of {MAX_DEPTH} levels" in deep


def test_nesting_far_beyond_any_stack_is_refused_quickly(tmp_path: Path) -> None:
    # the builder stops at the limit, long before the parser would have read it all
    text = "a: " + "[" * 1_000_000 + "]" * 1_000_000 + "\n"
    (problem,) = problems(tmp_path, text)
    # libyaml itself stops at 1,000 levels; the builder at 64, whichever comes first
    assert "nesting deeper than the limit of 64" in problem or "maximum nesting depth" in problem


def test_unknown_alias_and_several_documents(tmp_path: Path) -> None:
    assert problems(tmp_path, "hosts:\n  a: *nope\n") == [
        "2: hosts.a: unknown alias *nope (no &nope before it)"
    ]
    assert problems(tmp_path, "hosts: {}\n---\nhosts: {}\n") == [
        "2: more than one YAML document ('---'): put each in a file of its own"
    ]


def test_oversized_file_is_refused_before_parsing_naming_size_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.message.startswith(
        f"file is {MAX_FILE_BYTES + 1:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes (16 MiB)"
    )


def test_a_directory_too_large_together_is_refused_before_reading(tmp_path: Path) -> None:
    files = MAX_CONFIG_BYTES // MAX_FILE_BYTES + 1
    for number in range(files):
        with (tmp_path / f"{number}.yaml").open("wb") as handle:
            handle.truncate(MAX_FILE_BYTES)  # sparse: nothing is written to disk
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    (problem,) = info.value.problems
    total = files * MAX_FILE_BYTES
    assert problem.message == (
        f"the {files} files are {total:,} bytes together; "
        f"the limit is {MAX_CONFIG_BYTES:,} bytes (64 MiB)"
    )


@pytest.mark.slow
def test_too_many_values_are_refused_counting_all_files(tmp_path: Path) -> None:
    per_file = MAX_NODES // 2 + 1  # each file alone is within the limit, together they are not
    for name in ("a", "b"):
        # one list of small scalars: the cheapest way to many values
        (tmp_path / f"{name}.yaml").write_text(f"{name}: [" + "1," * (per_file - 2) + "1]\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    (problem,) = info.value.problems
    assert problem.file.endswith("b.yaml")
    assert f"more YAML values than the limit of {MAX_NODES:,}" in problem.message


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


def test_merge_keys_point_at_the_line_of_the_value_that_is_used(tmp_path: Path) -> None:
    text = (
        "templates:\n"
        "  base: &base {tags: [web], check: {type: tcp, port: 70000}}\n"
        "hosts:\n"
        "  a:\n"
        "    <<: *base\n"
        "    check: {type: tcp, port: 70001}\n"
        "  b:\n"
        "    check:\n"
        "      type: tcp\n"
        "      port: 70002\n"
        "    <<: *base\n"
        "  c: {<<: *base}\n"
    )
    found = [p for p in problems(tmp_path, text) if "65535" in p]
    assert [p.split(": input")[0] for p in found] == [
        "2: hosts.c.check.port",  # merged in: the anchor's line
        "6: hosts.a.check.port",  # its own check wins over the merged one, and so does its line
        "10: hosts.b.check.port",
    ]
