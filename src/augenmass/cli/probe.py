"""`augenmass probe TYPE [--option value ...]`: run one built-in probe once, plugin-style.

Generic over every registered probe: the command-line options are the fields of the probe's
`Options` model with dashes (`max_redirects` → `--max-redirects`), validated by the same model as
the config (thresholds, durations, ranges), then run through the real `Runner`, so timeouts and
option errors behave exactly as in the server. Exit code 0..3 like a plugin; a usage error is
UNKNOWN (3), `--help` lists the options and exits 0.

Value syntax: `--key value` or `--key=value`; booleans as a bare `--flag`, `--no-flag`, or
`--flag false`; lists repeat the option or separate with commas; mappings take `Name: value` or
`name=value`, repeatable (a trailing `s` may be dropped: `--header`).
"""

from __future__ import annotations

import asyncio
import re
import sys
import textwrap
import types
from typing import Annotated, Any, Literal, TextIO, Union, get_args, get_origin

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from augenmass.config.checks import SPEC_FIELDS, check_model
from augenmass.config.suggest import did_you_mean
from augenmass.core.clock import Clock, SystemClock
from augenmass.core.options import CheckModel
from augenmass.core.perfdata import format_perfdata
from augenmass.core.plan import CheckSpec, Settings
from augenmass.core.values import CheckJob, CheckKey, CheckResult, state_name
from augenmass.probes import PROBES

UNKNOWN = 3
DEFAULT_TIMEOUT = 10.0
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_LABELED = re.compile(r"^[A-Za-z0-9_ -]{0,40}\b(OK|WARNING|CRITICAL|UNKNOWN|UP|DOWN)\b")


# One line per type for `augenmass probe --help` (a test keeps it in step with PROBES).
SUMMARIES: dict[str, str] = {
    "dummy": "the state and output it is given (examples, placeholders)",
    "tcp": "connect to host:port, time it; optionally send and expect text",
    "http": "one HTTP(S) request, judged like check_http (status, body)",
    "tls": "days until the certificate expires; chain and name",
    "icmp": "ping: round-trip time and packet loss (check_ping thresholds)",
    "dns": "ask one DNS server one question, like check_dig",
    "smtp": "SMTP greeting (plain, STARTTLS or TLS), time it",
    "imap": "IMAP greeting (plain, STARTTLS or TLS), time it",
    "pop3": "POP3 greeting (plain, STARTTLS or TLS), time it",
    "sip": "SIP OPTIONS ping to a desk phone or PBX",
    "snmp": "GET OIDs; thresholds on numbers, match on strings, rates",
    "printer": "toner/ink/drum levels and alerts over the Printer-MIB",
    "snmp-disk": "percent used of each storage over HOST-RESOURCES-MIB",
    "snmp-interface": "interface status, traffic and errors over IF-MIB",
    "disk": "free space and inodes of local file systems",
    "load": "load average of this machine, per CPU if asked",
    "memory": "memory (and swap) used on this machine",
    "mailqueue": "mails waiting in the local MTA's queue, age of the oldest",
}


def types_text() -> str:
    """`augenmass probe --help`: every built-in probe type in one line."""
    width = max(map(len, PROBES))
    lines = ["usage: augenmass probe TYPE [--option value ...]", "", "types:"]
    lines += [f"  {kind:<{width}}  {SUMMARIES.get(kind, '')}" for kind in PROBES]
    lines += ["", "`augenmass probe TYPE --help` lists a type's options."]
    return "\n".join(lines)


class UsageError(ValueError):
    """A command line that does not fit the probe's options."""


def run_probe_cli(
    kind: str,
    args: list[str],
    out: TextIO | None = None,
    err: TextIO | None = None,
    clock: Clock | None = None,
) -> int:
    """Run probe `kind` once with `args`; print plugin-style output; return the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    if kind in ("-h", "--help", "help"):
        print(types_text(), file=out)
        return 0
    model = check_model(kind) if kind != "plugin" else "run plugins directly, not via `probe`"
    if isinstance(model, str):
        if kind not in PROBES and kind != "plugin":
            hint = did_you_mean(kind, PROBES)
            model = f"unknown probe type {kind!r}{hint}; `augenmass probe --help` lists them"
        print(f"UNKNOWN - {model}", file=err)
        return UNKNOWN
    if any(a in ("-h", "--help") for a in args):
        print(help_text(kind, model), file=out)
        return 0
    try:
        raw = parse_args(model, args)
        validated = model.model_validate(raw, strict=False)
    except UsageError as exc:
        print(f"{kind.upper()} UNKNOWN - {exc} (see --help)", file=err)
        return UNKNOWN
    except ValidationError as exc:
        print(f"{kind.upper()} UNKNOWN - {_validation_text(exc)}", file=err)
        return UNKNOWN
    result = asyncio.run(_run(kind, validated, str(raw.get("host", "")), clock or SystemClock()))
    print(format_output(kind, result), file=out)
    for note in result.notes:
        print(f"note: {note}", file=err)
    return min(max(result.status, 0), 3)


async def _run(kind: str, validated: CheckModel, host: str, clock: Clock) -> CheckResult:
    from augenmass.runner import Runner  # lazy: keeps `probe --help` light

    spec = CheckSpec(
        type=kind,
        options=validated.model_dump(mode="json", exclude=set(SPEC_FIELDS)),
        timeout=validated.timeout or DEFAULT_TIMEOUT,
        timeout_state=UNKNOWN if validated.timeout_state is None else validated.timeout_state,
        exit_code_state=UNKNOWN if validated.exit_code_state is None else validated.exit_code_state,
    )
    # the host given on the command line plays the role of the config's host address
    macros = {"HOSTADDRESS": host, "HOSTNAME": host or "probe", "HOSTDISPLAYNAME": host}
    runner = Runner(Settings().plugin_dirs, clock=clock)
    return await runner.run(CheckJob(CheckKey(host or "probe", kind), spec, macros, clock.now()))


def format_output(kind: str, result: CheckResult) -> str:
    """The plugin line (`HTTP OK - ... | perfdata`) and the long output below it."""
    line = result.output
    if not _LABELED.match(line):
        # runner messages (timeouts, bad options) carry no label of their own
        line = f"{kind.upper()} {state_name(min(result.status, 3), False)} - {line}"
    if result.perfdata:
        line += f" | {format_perfdata(result.perfdata)}"
    if result.long_output:
        line += "\n" + result.long_output
    return line


# --- argument parsing -------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """The annotation without Optional[...] and Annotated[...]."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


def _shape(field: FieldInfo) -> str:
    """bool, list, dict or scalar: how the command line spells a value of this field."""
    annotation = _unwrap(field.annotation)
    origin = get_origin(annotation)
    if annotation is bool:
        return "bool"
    if origin in (list, tuple, set, frozenset):
        return "list"
    if origin is dict:
        return "dict"
    return "scalar"


def _field_for(model: type[CheckModel], option: str) -> tuple[str, FieldInfo]:
    name = option.replace("-", "_")
    fields = model.model_fields
    if name in fields:
        return name, fields[name]
    plural = name + "s"
    if plural in fields and _shape(fields[plural]) in ("list", "dict"):
        return plural, fields[plural]
    raise UsageError(f"unknown option --{option}")


def parse_args(model: type[CheckModel], args: list[str]) -> dict[str, Any]:
    """`--key value` pairs → a dict for model_validate (values still text, lax mode converts)."""
    values: dict[str, Any] = {}
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        token = _long_form(model, token)
        if not token.startswith("--") or token == "--":
            raise UsageError(f"unexpected argument {token!r}")
        option, has_value, inline = token[2:].partition("=")
        negated = option.startswith("no-") and not has_value
        try:
            name, field = _field_for(model, option)
        except UsageError:
            if not negated:
                raise
            name, field = _field_for(model, option[3:])
            if _shape(field) != "bool":
                raise UsageError(f"--{option}: only yes/no options can be negated") from None
            values[name] = False
            continue
        shape = _shape(field)
        if shape == "bool" and not has_value:
            if i < len(args) and args[i].lower() in _TRUE | _FALSE:
                values[name] = args[i].lower() in _TRUE
                i += 1
            else:
                values[name] = True
            continue
        if not has_value:
            if i >= len(args):
                raise UsageError(f"--{option} needs a value")
            inline = args[i]
            i += 1
        _store(values, name, shape, field, inline, option)
    return values


# The monitoring-plugins' short options, so a Nagios command line carries over:
# `check_tcp -H db -p 5432 -w 1 -c 5 -t 10` → `augenmass probe tcp -H db -p 5432 -w 1 -c 5 -t 10`.
SHORT_OPTIONS = {"H": "host", "p": "port", "w": "warning", "c": "critical", "t": "timeout"}


def _long_form(model: type[CheckModel], token: str) -> str:
    """`-w 5` / `-w5` as `--warning 5` / `--warning=5` when the probe has that option."""
    if len(token) < 2 or token[0] != "-" or token[1] == "-":
        return token
    name = SHORT_OPTIONS.get(token[1])
    if name is None or name not in model.model_fields:
        raise UsageError(f"unknown option {token[:2]}")
    rest = token[2:]
    return f"--{name}" + (f"={rest.removeprefix('=')}" if rest else "")


def _store(
    values: dict[str, Any], name: str, shape: str, field: FieldInfo, text: str, option: str
) -> None:
    if shape == "bool":
        if text.lower() not in _TRUE | _FALSE:
            raise UsageError(f"--{option}: expected true or false, not {text!r}")
        values[name] = text.lower() in _TRUE
    elif shape == "list":
        items = values.setdefault(name, [])
        items.extend(_item(field, part.strip()) for part in text.split(",") if part.strip())
    elif shape == "dict":
        key, sep, value = _pair(text)
        if not sep:
            raise UsageError(f"--{option}: expected 'Name: value' or name=value, not {text!r}")
        values.setdefault(name, {})[key] = value
    else:
        values[name] = _scalar(field.annotation, text)


def _pair(text: str) -> tuple[str, str, str]:
    colon, equals = text.find(":"), text.find("=")
    sep = ":" if colon >= 0 and (equals < 0 or colon < equals) else "="
    key, found, value = text.partition(sep)
    return key.strip(), found, value.strip()


def _item(field: FieldInfo, text: str) -> Any:
    args = get_args(_unwrap(field.annotation))
    return _scalar(args[0] if args else str, text)


def _scalar(annotation: Any, text: str) -> Any:
    # Literal[4, 6] and int | None need a real int: lax mode does not turn "4" into a literal
    inner = _unwrap(annotation)
    choices = get_args(inner) if get_origin(inner) is Literal else ()
    if inner is int or any(isinstance(c, int) and not isinstance(c, bool) for c in choices):
        try:
            return int(text)
        except ValueError:
            return text
    if inner is float:
        try:
            return float(text)
        except ValueError:
            return text
    return text


def _validation_text(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        loc = [str(p) for p in error["loc"]]
        where = "--" + loc[0].replace("_", "-") if loc else "options"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown option"
        problems.append(f"{where}: {message}")
    return "; ".join(problems)


# --- help ---------------------------------------------------------------------------------------


def _type_name(field: FieldInfo) -> str:
    annotation = _unwrap(field.annotation)
    origin = get_origin(annotation)
    if origin is Literal:
        return "|".join(str(c) for c in get_args(annotation))
    if origin in (list, tuple, set, frozenset):
        args = get_args(annotation)
        inner = getattr(args[0], "__name__", "text") if args else "text"
        return f"{_plain(inner)},..."
    if origin is dict:
        return "'Name: value'"
    if annotation is bool:
        return "yes/no"
    return _plain(getattr(annotation, "__name__", "text"))


def _plain(name: str) -> str:
    return {"str": "text", "int": "number", "float": "number"}.get(name, name)


def _describe(name: str, field: FieldInfo) -> str:
    if field.description:
        return field.description
    if name.endswith(("warning", "critical")):
        return "threshold range (Nagios syntax: 10, 10:, ~:10, 10:20, @10:20)"
    return {
        "timeout": "seconds (or 30s, 1m) before the check gives up",
        "timeout_state": "state for a timeout (ok, warning, critical, unknown)",
        "exit_code_state": "state for an invalid exit code",
    }.get(name, "")


def help_text(kind: str, model: type[CheckModel]) -> str:
    lines = [f"usage: augenmass probe {kind} [--option value ...]", "", "options:"]
    for name, field in model.model_fields.items():
        flag = "--" + name.replace("_", "-")
        short = next((f"-{k}" for k, v in SHORT_OPTIONS.items() if v == name), None)
        if short:
            flag = f"{short}, {flag}"
        type_name = _type_name(field)
        if field.is_required():
            default = "required"
        else:
            value = field.get_default(call_default_factory=True)
            default = "default: none" if value in (None, {}, []) else f"default: {value}"
        if name == "timeout":
            default = f"default: {DEFAULT_TIMEOUT:g}"
        text = _describe(name, field)
        # an 80-column terminal: the option on its line, its description wrapped below it
        lines.append(f"  {flag} {type_name}  ({default})")
        lines += textwrap.wrap(text, 78, initial_indent="      ", subsequent_indent="      ")
    lines.append("")
    lines.append("Exit code and output as a Nagios plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")
    return "\n".join(lines)
