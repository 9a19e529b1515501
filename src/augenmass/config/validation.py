"""Turn pydantic ValidationErrors into readable ConfigProblems with key paths and lines."""

from __future__ import annotations

import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from augenmass.config.fastvalid import FieldCache
from augenmass.config.paths import Where
from augenmass.config.secretset import is_secret_key
from augenmass.config.suggest import did_you_mean
from augenmass.core.errors import ConfigProblem

M = TypeVar("M", bound=BaseModel)

_TYPE_NAMES = {
    bool: "true/false",
    int: "a number",
    float: "a number",
    str: "text",
    list: "a list",
    dict: "a mapping",
    type(None): "nothing",
}


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel class inside an annotation like `list[X] | None`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, str) and part in current.model_fields:
            current = _nested_model(current.model_fields[part].annotation)
    return list(current.model_fields) if current is not None else []


def _describe(value: Any) -> str:
    name = _TYPE_NAMES.get(type(value), type(value).__name__)
    if isinstance(value, dict | list):
        return name
    text = repr(value)
    return f"{name} {text if len(text) <= 40 else text[:37] + '...'}"


def _message(error: Any, model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        return "unknown key" + did_you_mean(key, _fields_at(model, loc[:-1]))
    if kind == "missing":
        return "required key is missing"
    msg = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if kind != "value_error" and msg:
        msg = msg[0].lower() + msg[1:]
    if kind.endswith("_type") or kind in {"literal_error", "enum"}:
        value = error.get("input")
        if any(is_secret_key(part) for part in loc if isinstance(part, str)):
            # a secret's value is never quoted, not even a wrong one: only its type
            return f"{msg}, got {_TYPE_NAMES.get(type(value), type(value).__name__)}"
        msg = f"{msg}, got {_describe(value)}"
    return msg


def _clean_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    # drop pydantic's internal branch labels such as 'function-before[...]' or '[key]'
    return tuple(p for p in loc if isinstance(p, int) or "[" not in str(p))


def validate(
    model: type[M],
    data: Any,
    where: Where,
    origins: dict[str, Where] | None = None,
    fast: FieldCache[M] | None = None,
) -> tuple[M | None, list[ConfigProblem]]:
    """Validate `data`; problems point at `origins[key]` (e.g. a template) when given.

    With `fast` (a FieldCache of `model`), a mapping whose field values were all seen valid
    before is built without validating it again; anything else takes the usual way below.

    With problems, the model is validated once more without the offending top-level keys, so
    that cross-checks (references, cycles) still run on the rest and every problem shows at
    once. The model returned then is partial; the problems make the whole load fail anyway.
    """
    if fast is not None:
        built = fast.fast(data)
        if built is not None:
            return built, []
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems, bad_keys = [], set()
        for error in exc.errors():
            loc = _clean_loc(tuple(error["loc"]))
            base = where
            if loc and origins and isinstance(loc[0], str) and loc[0] in origins:
                base = origins[loc[0]]
            problems.append(base.at(*loc).problem(_message(error, model, loc)))
            bad_keys.add(loc[0] if loc else None)
    if not isinstance(data, dict) or None in bad_keys:
        return None, problems
    try:
        rest = {k: v for k, v in data.items() if k not in bad_keys}
        return model.model_validate(rest), problems
    except ValidationError:
        return None, problems
