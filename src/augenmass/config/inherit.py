"""Template inheritance: `use: a` or `use: [a, b]`; the left-most template wins, local wins
over inherited, `vars` mappings merge key by key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from augenmass.config.paths import Where
from augenmass.config.sections import Entry
from augenmass.config.suggest import unknown
from augenmass.core.errors import ConfigProblem


@dataclass(frozen=True, slots=True)
class Merged:
    data: dict[str, Any]
    origins: dict[str, Where]  # key -> place of the body that supplied it


def uses_of(body: Any) -> list[str]:
    use = body.get("use") if isinstance(body, dict) else None
    if isinstance(use, str):
        return [use]
    if isinstance(use, list):
        return [u for u in use if isinstance(u, str)]
    return []  # a wrong type is reported by the model validation


class Templates:
    def __init__(self, entries: dict[str, Entry], problems: list[ConfigProblem]) -> None:
        self.entries = entries
        self.problems = problems
        self._memo: dict[str, list[Entry]] = {}
        self._inherited_memo: dict[tuple[str, ...], _Inherited] = {}
        self._report_cycles()

    def _report_cycles(self) -> None:
        done: set[str] = set()
        for name in self.entries:
            self._walk(name, [], done)

    def _walk(self, name: str, stack: list[str], done: set[str]) -> None:
        if name in stack:
            cycle = stack[stack.index(name) :] + [name]
            where = self.entries[name].where.at("use")
            self.problems.append(where.problem("template cycle: " + " -> ".join(cycle)))
            return
        if name in done or name not in self.entries:
            return
        stack.append(name)
        for parent in uses_of(self.entries[name].body):
            self._walk(parent, stack, done)
        stack.pop()
        done.add(name)

    def check_refs(self, entry: Entry) -> None:
        for index, name in enumerate(uses_of(entry.body)):
            if name not in self.entries:
                where = (
                    entry.where.at("use", index)
                    if isinstance(entry.body.get("use"), list)
                    else entry.where.at("use")
                )
                self.problems.append(where.problem(unknown("template", name, self.entries)))

    def _linear(self, name: str, stack: tuple[str, ...]) -> list[Entry]:
        if name in self._memo:
            return self._memo[name]
        entry = self.entries.get(name)
        if entry is None or name in stack:  # unknown or cyclic: reported elsewhere
            return []
        order = [entry]
        for parent in uses_of(entry.body):
            order.extend(self._linear(parent, stack + (name,)))
        result: list[Entry] = []
        for item in order:  # a diamond lists its shared base once, at its first place
            if all(item.name != kept.name for kept in result):
                result.append(item)
        self._memo[name] = result
        return result

    def merge(self, entry: Entry) -> Merged:
        """The body of `entry` with everything its templates supply filled in."""
        self.check_refs(entry)
        own = entry.body if isinstance(entry.body, dict) else {}
        inherited = self._inherited(tuple(uses_of(entry.body)))
        data: dict[str, Any] = {}
        origins: dict[str, Where] = {}
        where = entry.where
        for key, value in own.items():
            if key == "vars" and isinstance(value, dict):
                merged_vars = dict(value)
                for layer_vars in inherited.vars_layers:  # key by key, the nearest first
                    for var, text in layer_vars.items():
                        merged_vars.setdefault(var, text)
                value = merged_vars
            data[key] = value
            origins[key] = where
        for key, value in inherited.data.items():
            if key not in data:
                data[key] = value
                origins[key] = inherited.origins[key]
        return Merged(data, origins)

    def _inherited(self, uses: tuple[str, ...]) -> _Inherited:
        """What the templates in `uses` supply together: worked out once per distinct `use:`
        of a load (10,000 hosts name a few), not once per object that names it."""
        found = self._inherited_memo.get(uses)
        if found is not None:
            return found
        layers: list[Entry] = []
        for name in uses:
            layers.extend(self._linear(name, ()))
        data: dict[str, Any] = {}
        origins: dict[str, Where] = {}
        vars_layers: list[dict[str, Any]] = []
        for layer in layers:
            body = layer.body if isinstance(layer.body, dict) else {}
            for key, value in body.items():
                if key == "use":
                    continue
                if key == "vars" and isinstance(value, dict):
                    vars_layers.append(value)
                    merged_vars = data.setdefault("vars", {}) if key not in data else data[key]
                    if isinstance(merged_vars, dict):
                        for var, text in value.items():
                            merged_vars.setdefault(var, text)
                    origins.setdefault("vars", layer.where)
                elif key not in data:
                    data[key] = value
                    origins[key] = layer.where
        found = self._inherited_memo[uses] = _Inherited(data, origins, vars_layers)
        return found


@dataclass(frozen=True, slots=True)
class _Inherited:
    """The keys a chain of templates supplies, where each comes from, and the `vars`
    mappings of its layers (the nearest first: an object's own `vars` is merged with each)."""

    data: dict[str, Any]
    origins: dict[str, Where]
    vars_layers: list[dict[str, Any]]
