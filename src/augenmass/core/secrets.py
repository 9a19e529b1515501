"""One redaction of configured secrets, for every text that leaves the server: config errors,
log lines, check outputs.

The loaded config hands its secrets (SMTP password, webhook secrets, ping keys, SNMP communities
and keys, check passwords, URL passwords, password_file contents) to `install`; `redact` then
replaces each occurrence by `****`. One compiled alternation, longest first, rebuilt on install;
with no secrets it returns the text untouched at the cost of one attribute test.

Tiny secrets: values shorter than MIN_LENGTH (4) characters are not searched for in free text,
as replacing every "ab" or "1" in outputs and logs would mangle them and protect nothing (a
3-character secret is guessable anyway). Secret *fields* are never quoted at all: config errors
for them name the key and the expected type, not the value (see config/validation.py), and
probes put no secret into their texts. The SNMP default community `public` is not a secret and
is never collected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "****"
MIN_LENGTH = 4
NOT_SECRET = frozenset({"public"})  # the SNMP default: every agent knows it

# scheme://userinfo@ — userinfo up to the LAST @ before the path, so a password holding "@"
# or "/" is hidden whole (an unparsable URL in an error message included)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s\"'<>]*@")


class Redactor:
    """Replaces every known secret in a text; `install` swaps the set atomically."""

    __slots__ = ("_pattern", "_secrets")

    def __init__(self) -> None:
        self._pattern: re.Pattern[str] | None = None
        self._secrets: frozenset[str] = frozenset()

    def install(self, secrets: Iterable[str]) -> None:
        kept = frozenset(s for s in secrets if len(s) >= MIN_LENGTH and s not in NOT_SECRET)
        if kept == self._secrets:
            return
        # longest first: a secret containing another is masked whole
        alternation = "|".join(re.escape(s) for s in sorted(kept, key=len, reverse=True))
        self._pattern = re.compile(alternation) if kept else None
        self._secrets = kept

    @property
    def secrets(self) -> frozenset[str]:
        return self._secrets

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)


REDACT = Redactor()  # the process's one instance, installed at start and on every reload


def redact(text: str) -> str:
    """`text` with every configured secret replaced by ****."""
    return REDACT(text)


def hide_userinfo(text: str) -> str:
    """URLs in `text` with their user:password@ part shown as ****@."""
    if "@" not in text:
        return text
    return _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)


def url_password(url: str) -> str | None:
    """The password in a URL's userinfo (percent-decoded), or None."""
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(url.strip()).password
    except ValueError:
        return None
    return unquote(password) if password else None


# Bidi controls (embeddings, overrides, isolates, marks): they reorder how text is shown, so a
# name or comment can display as something else than it is ("Trojan Source").
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
_NO_BIDI = str.maketrans(dict.fromkeys(BIDI_CONTROLS))


def has_bidi(text: str) -> bool:
    return _BIDI.search(text) is not None


def strip_bidi(text: str) -> str:
    """`text` without bidi control characters (free text: comments, outputs)."""
    return text.translate(_NO_BIDI) if _BIDI.search(text) else text
