"""Validation of many similar mappings, each distinct value of a field validated once.

A large config validates 10,000 hosts that differ in one or two keys (the address, a site
tag) and share the rest through their templates: validating each mapping whole repeated the
same work for every key they share (most of a 10,000-host load, bench/startup.py). For a
model whose fields are validated independently of each other — no model validators, no
aliases, no extra keys allowed — `FieldCache.fast` validates each (field, value) pair once
with pydantic's own field validator (`validate_assignment`: the field's type, constraints,
`strict` and field validators, exactly as a whole validation runs them) and builds the model
from the validated values.

It only ever succeeds or declines: anything unusual (an unknown key, a missing required key,
a value that fails) returns None, and the caller validates the mapping the usual way, which
reports every problem with its file, line and key path. So the errors are the slow path's by
construction; tests/config/test_fast_validation.py checks the Plans are the same.
"""

from __future__ import annotations

import copy
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# How many distinct values of one field are kept: a config with more distinct values than
# this (hosts' addresses) still validates each of them; only the memo stops growing.
MAX_VALUES_PER_FIELD = 100_000


def field_independent(model: type[BaseModel]) -> bool:
    """Whether validating `model` is validating each field on its own: no model validator, no
    alias, and no validator of a field that could read the others (one taking `info`, whose
    `info.data` would be another object's here)."""
    decorators = model.__pydantic_decorators__
    funcs = [d.func for d in decorators.field_validators.values()]
    for info in model.model_fields.values():
        funcs += _validator_funcs(info.metadata)
        funcs += _validator_funcs(info.annotation)
    return (
        not decorators.model_validators
        and not model.__pydantic_root_model__
        and model.__pydantic_post_init__ is None
        and model.model_config.get("extra") == "forbid"
        and all(f.alias is None and f.validation_alias is None for f in model.model_fields.values())
        and all(_value_only(func) for func in funcs)
    )


def _validator_funcs(found: Any) -> list[Callable[..., Any]]:
    """The functions of the Before/After/Plain/Wrap validators in an annotation or metadata."""
    if isinstance(found, list | tuple):
        return [func for item in found for func in _validator_funcs(item)]
    func = getattr(found, "func", None)
    if callable(func) and type(found).__name__.endswith("Validator"):
        return [func]
    return [func for arg in typing.get_args(found) for func in _validator_funcs(arg)]


def _value_only(func: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False  # cannot tell: not field by field
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == 1


class FieldCache(Generic[M]):
    """Per-model memo of validated field values; one per load (the values it keeps are those
    of one config)."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self.usable = field_independent(model)
        fields = model.model_fields
        self._required = frozenset(n for n, f in fields.items() if f.is_required())
        # field -> memo key -> (the value, its validated value)
        self._seen: dict[str, dict[object, tuple[Any, Any]]] = {name: {} for name in fields}
        # the defaults, in field order: plain values shared, containers made fresh per model
        # (as pydantic copies a mutable default); required fields hold a placeholder until set
        self._template: dict[str, Any] = {}
        self._fresh: dict[str, Callable[[], Any]] = {}
        for name, info in fields.items():
            default = None if info.is_required() else info.get_default(call_default_factory=True)
            self._template[name] = default
            if type(default) in (list, dict, set) and not default:
                self._fresh[name] = type(default)
            elif isinstance(default, list | dict | set | BaseModel):
                self._fresh[name] = functools.partial(copy.deepcopy, default)
        self._validator = model.__pydantic_validator__
        self._scratch = model.model_construct()

    def fast(self, data: Any) -> M | None:
        """The model of `data`, or None: then validate it the usual way."""
        if not self.usable or type(data) is not dict:
            return None
        seen_of = self._seen
        values: dict[str, Any] = {}
        for key, value in data.items():
            seen = seen_of.get(key)
            if seen is None:
                return None  # unknown key: the usual validation says which and suggests one
            # The memo key (written out here: this runs for every key of every object): text
            # by itself; other scalars with their type (1, 1.0 and true are equal keys of a
            # dict but not the same config value); a list or mapping by identity first
            # (templates hand the same object to every host that uses them; the memo keeps it
            # alive, so its id is not reused), then by its repr (which tells 1, "1" and true
            # apart, as the type does).
            kind = type(value)
            if kind is str:
                memo: object = value
                hit = seen.get(memo)
            elif kind is dict or kind is list:
                # a container: known by identity (what templates share)...
                hit = seen.get(id(value))
                if hit is not None and hit[0] is value:
                    values[key] = hit[1]
                    continue
                # ...or by its text (the same list written on every host)
                memo = (kind, repr(value))
                hit = seen.get(memo)
                if hit is not None:
                    values[key] = hit[1]
                    if len(seen) < MAX_VALUES_PER_FIELD:
                        seen[id(value)] = (value, hit[1])
                    continue
            else:
                memo = (kind, value)
                hit = seen.get(memo)
            if hit is not None:
                values[key] = hit[1]
                continue
            try:
                self._validator.validate_assignment(self._scratch, key, value)
            except ValidationError:
                return None
            checked = self._scratch.__dict__[key]
            if len(seen) < MAX_VALUES_PER_FIELD:
                seen[memo] = (value, checked)
                if type(value) is dict or type(value) is list:
                    seen[id(value)] = (value, checked)
            values[key] = checked
        if not self._required.issubset(values):
            return None
        fields = self._template.copy()
        for name, fresh in self._fresh.items():
            if name not in values:
                fields[name] = fresh()
        fields.update(values)
        model = self.model
        obj = model.__new__(model)
        object.__setattr__(obj, "__dict__", fields)
        object.__setattr__(obj, "__pydantic_fields_set__", set(values))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj
