"""How a host or service is checked, as its page shows it: the probe and its options or the
plugin's command line, minus every secret.

Options whose key names a secret (password, community, token ...) are shown as `****`; a plugin's
argument after a flag that takes a secret in the monitoring plugins (`-a user:pw`, `--password`,
`-C community` ...) likewise, and every text passes the configured-secrets redaction as well.
Macros stay unexpanded (`$HOSTADDRESS$`), so values that come from host vars are not shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from augenmass.config.secretset import is_secret_key
from augenmass.core.plan import CheckSpec
from augenmass.core.secrets import MASK, REDACT

# Flags whose next argument is a secret in the monitoring plugins (check_http -a, check_snmp -C
# and its SNMPv3 passphrases, check_mysql/-pgsql/-ldap passwords, check_radius -P ...).
SECRET_FLAGS = frozenset(
    {
        "-a", "--authorization", "-C", "--community", "-A", "--authpassword", "-X",
        "--privpasswd", "-P", "--password", "--pass", "--passwd", "--secret", "--token",
    }
)  # fmt: skip
# `-p` is a port for most plugins but the password of check_mysql: masked unless a number
PORT_OR_PASSWORD = "-p"


@dataclass(frozen=True, slots=True)
class CheckInfo:
    type: str
    command: str  # a plugin's argv, one line ("" for a probe)
    options: tuple[tuple[str, str], ...]  # a probe's options, as text
    timeout: float


def describe(spec: CheckSpec, defaults: Mapping[str, Any]) -> CheckInfo:
    """`defaults`: the probe's option defaults (ServerControl.option_defaults); the page shows
    what the config chose, not every knob."""
    if spec.type == "plugin":
        return CheckInfo("plugin", _argv(spec.command), (), spec.timeout)
    shown = tuple(
        (key, _option(key, value))
        for key, value in sorted(spec.options.items())
        if value not in (None, "", [], {}, ()) and not (key in defaults and defaults[key] == value)
    )
    return CheckInfo(spec.type, "", shown, spec.timeout)


def _option(key: str, value: Any) -> str:
    if is_secret_key(key) or (key in ("headers", "header") and _has_secret_header(value)):
        return MASK
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(REDACT(str(v)) for v in value)
    if isinstance(value, dict):
        return ", ".join(
            f"{k}: {MASK if is_secret_key(k) else REDACT(str(v))}" for k, v in value.items()
        )
    return REDACT(str(value))


def _has_secret_header(value: Any) -> bool:
    return isinstance(value, dict) and any(is_secret_key(k) for k in value)


def _argv(argv: tuple[str, ...]) -> str:
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        flag, eq, _value = arg.partition("=")
        if flag in SECRET_FLAGS:
            if eq:
                out.append(f"{flag}={MASK}")
            else:
                out.append(arg)
                hide_next = True
            continue
        if arg == PORT_OR_PASSWORD:
            out.append(arg)
            hide_next = True  # decided on the next argument
            continue
        out.append(REDACT(arg))
    # a `-p` followed by a number was a port after all: put the number back
    text = []
    for i, arg in enumerate(out):
        if arg == MASK and i > 0 and out[i - 1] == PORT_OR_PASSWORD and argv[i].isdigit():
            text.append(argv[i])
        else:
            text.append(arg)
    return " ".join(_quote(a) for a in text)


def _quote(arg: str) -> str:
    return arg if arg and not any(c.isspace() for c in arg) else repr(arg)
