"""Gather the top-level sections of one or more files, reporting duplicate names across files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from augenmass.config.paths import Where
from augenmass.config.suggest import did_you_mean
from augenmass.config.yamlload import YamlFile
from augenmass.core.errors import ConfigProblem

NAMED = ("timeperiods", "contacts", "contact_groups", "templates", "hosts", "agents")
LISTED = ("services", "notification_rules")
KEYED = ("settings", "defaults", "notifications", "cluster")
SECTIONS = NAMED + LISTED + KEYED
_KIND = {
    "timeperiods": "time period",
    "contacts": "contact",
    "contact_groups": "contact group",
    "templates": "template",
    "hosts": "host",
    "agents": "agent",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One named object (or list item) as written, with the place of its body."""

    name: str
    body: Any
    where: Where


@dataclass
class Sections:
    named: dict[str, dict[str, Entry]] = field(default_factory=lambda: {s: {} for s in NAMED})
    listed: dict[str, list[Entry]] = field(default_factory=lambda: {s: [] for s in LISTED})
    # settings/defaults: key -> value, and key -> the section's place in the file that set it
    keyed: dict[str, dict[str, Any]] = field(default_factory=lambda: {s: {} for s in KEYED})
    keyed_at: dict[str, dict[str, Where]] = field(default_factory=lambda: {s: {} for s in KEYED})


def collect(files: list[YamlFile], problems: list[ConfigProblem]) -> Sections:
    sections = Sections()
    for yf in files:
        for section, value in yf.data.items():
            where = yf.where(section)
            if section not in SECTIONS:
                problems.append(where.problem("unknown section" + did_you_mean(section, SECTIONS)))
            elif value is None:
                continue
            elif section in NAMED:
                _add_named(sections.named[section], section, value, where, problems)
            elif section in LISTED:
                _add_listed(sections.listed[section], section, value, where, problems)
            else:
                _add_keyed(sections, section, value, where, problems)
    return sections


def _add_named(
    target: dict[str, Entry], section: str, value: Any, where: Where, problems: list[ConfigProblem]
) -> None:
    if not isinstance(value, dict):
        problems.append(where.problem(f"expected a mapping of name -> {_KIND[section]}"))
        return
    for name, body in value.items():
        entry = Entry(name, body, where.at(name))
        first = target.get(name)
        if first is not None:
            problems.append(
                entry.where.problem(
                    f"duplicate {_KIND[section]} {name!r} (also defined at {first.where})"
                )
            )
            continue
        target[name] = entry


def _add_listed(
    target: list[Entry], section: str, value: Any, where: Where, problems: list[ConfigProblem]
) -> None:
    if isinstance(value, dict) and section == "services":
        for name, body in value.items():
            body = {} if body is None else body
            if isinstance(body, dict) and "name" not in body:
                body = {"name": name, **body}
            target.append(Entry(str(name), body, where.at(name)))
    elif isinstance(value, list):
        for index, body in enumerate(value):
            name = body.get("name") if isinstance(body, dict) else None
            target.append(Entry(str(name or f"#{index}"), body, where.at(index)))
    else:
        problems.append(where.problem("expected a list"))


def _add_keyed(
    sections: Sections, section: str, value: Any, where: Where, problems: list[ConfigProblem]
) -> None:
    if not isinstance(value, dict):
        problems.append(where.problem("expected a mapping"))
        return
    values, places = sections.keyed[section], sections.keyed_at[section]
    for key, item in value.items():
        if key in values:
            problems.append(where.at(key).problem(f"set twice (also at {places[key].at(key)})"))
            continue
        values[key] = item
        places[key] = where
