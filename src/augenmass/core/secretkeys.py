"""Which values are secrets, by the key that holds them: the rule the server's config uses
(config/secretset.py) and the one a probe worker, an agent or a check worker applies to the
check options it is sent, so that its own log lines are redacted too (core/secrets.py does the
replacing).

A value is a secret when its key names one (password, secret, community, auth_key, priv_key,
ping_key, token, an Authorization header, ...) or when it is the password of a URL
(http://user:pw@host, Apprise URLs). The rule goes by key name, so a new channel or probe whose
secret is called `password` or `*_secret` is covered without a change here.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from augenmass.core.secrets import MIN_LENGTH, NOT_SECRET, REDACT, url_password

_EXACT = frozenset(
    {"password", "secret", "community", "token", "passphrase", "authorization", "api_key"}
)
_SUFFIXES = ("password", "_secret", "_community", "_token", "auth_key", "priv_key", "ping_key")


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: object) -> bool:
    # a config has few distinct key names and meets each of them thousands of times
    name = str(key).lower()
    return name in _EXACT or name.endswith(_SUFFIXES)


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)


def _text(text: str, secret: bool, out: set[str]) -> None:
    if secret:
        out.add(text.strip())
        scheme, _, credential = text.strip().partition(" ")
        if credential and scheme.lower() in ("basic", "bearer", "token"):
            out.add(credential.strip())  # an Authorization header's credential alone
    if "@" in text and "://" in text:
        password = url_password(text)
        if password:
            out.add(password)


def walk(value: Any, secret: bool, out: set[str], depth: int = 0) -> None:
    if depth > 12:
        return  # config data is shallow; a deeper structure holds no keyed secret we know
    kind = type(value)
    if kind is str:  # the common case first: most of a config is text in mappings
        if secret or ("@" in value and "://" in value):
            _text(value, secret, out)
    elif kind is dict or isinstance(value, Mapping):
        for key, item in value.items():
            kind = type(item)
            if item is None or kind is bool:
                continue  # no secret, as in _scalar (most options of a check are unset)
            hidden = secret or is_secret_key(key)
            if kind is str:
                if hidden or ("@" in item and "://" in item):
                    _text(item, hidden, out)
            elif kind is int or kind is float:
                if hidden:
                    _text(str(item), True, out)
            else:
                walk(item, hidden, out, depth + 1)
    elif isinstance(value, list | tuple | frozenset | set):
        for item in value:
            walk(item, secret, out, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            walk(getattr(value, f.name), secret or is_secret_key(f.name), out, depth + 1)
    else:
        text = _scalar(value)
        if text is not None:
            _text(text, secret, out)


def secrets_in(value: Any) -> set[str]:
    """Every secret in `value` (check options, parsed YAML, dataclasses)."""
    out: set[str] = set()
    walk(value, False, out)
    out.discard("")
    return out


def install(secrets: Iterable[str]) -> None:
    """Add `secrets` to what the process redacts. Only added, never dropped until a restart: a
    reload that is refused, or one that removes a password, must not unmask the running one."""
    wanted = {s for s in secrets if len(s) >= MIN_LENGTH and s not in NOT_SECRET}
    if wanted - REDACT.secrets:  # the pattern is compiled anew only for a new secret
        REDACT.install(REDACT.secrets | wanted)
