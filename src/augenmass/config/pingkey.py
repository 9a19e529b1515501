"""Ping keys of dead-man checks: the secret in `/ping/KEY` that a cron job's `curl` sends.

It stands in a crontab and a URL, so only URL-safe characters; at least 22 of them (about 130
bits when random, as `augenmass ping-key` makes them). Written inline or as `${ENV_VAR}`.
"""

from __future__ import annotations

import re
import secrets

from augenmass.config.notifications import expand_secret
from augenmass.config.paths import Where
from augenmass.core.errors import ConfigProblem

MIN_LENGTH = 22
MAX_LENGTH = 200
_SHAPE = re.compile(r"[A-Za-z0-9_-]+")


def new_key() -> str:
    """A fresh key: 32 random bytes, base64url (43 characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def build_ping_key(raw: str, where: Where, problems: list[ConfigProblem]) -> str:
    """The expanded key, or "" with a problem (that never quotes the value: it is a secret)."""
    found: list[ConfigProblem] = []
    key = expand_secret(raw, where, found)
    if found:
        problems.extend(found)
        return ""
    if not (MIN_LENGTH <= len(key) <= MAX_LENGTH) or not _SHAPE.fullmatch(key):
        problems.append(
            where.problem(
                f"a ping key must be {MIN_LENGTH}-{MAX_LENGTH} characters of A-Z a-z 0-9 _ -"
                " (make one with `augenmass ping-key`)"
            )
        )
        return ""
    return key
