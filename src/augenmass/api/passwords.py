"""Password rules for new and changed passwords: at least MIN_LENGTH characters, not a common one.

The lists beside this module (common-passwords.txt, common-words.txt; a few hundred entries)
are our own, written for this project, no third-party list copied: keyboard walks, digit runs,
and common words in English and German that people pad with digits or symbols to pass a length
rule ("Password123!", "Sommer2025!!"). Only what a 10-character minimum lets through matters: an
attacker's guess list starts with exactly these. Existing passwords are not re-checked: their
users keep logging in.
"""

from __future__ import annotations

import functools
import string
from importlib import resources

MIN_LENGTH = 10


@functools.cache
def _words(file: str) -> frozenset[str]:
    text = resources.files(__package__).joinpath(file).read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


_PADDING = string.digits + string.punctuation + " "


def problem(password: str, name: str = "") -> str | None:
    """Why `password` is refused for user `name`; None when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    low = password.lower()
    base = low.strip(_PADDING)
    common, words = _words("common-passwords.txt"), _words("common-words.txt")
    if low in common or base in common or base in words or len(set(low)) <= 2:
        return "this password is too common: choose another (a few unrelated words work well)"
    if name and base.replace(name.lower(), "").strip(_PADDING) == "":
        return "a password must not be the user's name (with or without digits)"
    return None
