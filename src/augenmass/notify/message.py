"""Rendering a Message with Jinja2 templates: subject, plain text, HTML (everything escaped).

Templates live in `templates/<language>/` (subject.j2, body.txt.j2, body.html.j2); a
`notifications.templates_dir` may override any of them with the same layout. The sandboxed
environment with StrictUndefined turns a misspelt variable into an error, and `check_templates`
reports it at check-config time instead of at 3 a.m.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from augenmass.core.messages import Entry, Message, Rendered, data_time
from augenmass.core.values import CheckKey, page_path, state_name
from augenmass.notify.grouping import summarize_names

BUILTIN_DIR = Path(__file__).parent / "templates"
LANGUAGES = ("en", "de")
# lines.j2: the one-line sentences of an incident (macros; rendered for the other three)
FILES = ("subject.j2", "body.txt.j2", "body.html.j2", "lines.j2")
VARIABLES = frozenset({"contact", "entries", "count", "summary", "test", "language"})
SUBJECT_LIMIT = 200
# control characters but tab and newline: they could forge lines in a terminal or a header
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def clean_output(text: str, limit: int) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n"))
    if len(text) > limit:
        text = text[:limit] + " …[truncated]"
    return text


def one_line(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """A header value: CR, LF and every other control character become spaces."""
    text = " ".join(_CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " ")).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Renderer:
    def __init__(
        self,
        templates_dir: str | None = None,
        timezone: str = "UTC",
        limit: int = 2000,
        base_url: str | None = None,
    ):
        loaders: list[jinja2.BaseLoader] = []
        if templates_dir:
            loaders.append(jinja2.FileSystemLoader(templates_dir))
        loaders.append(jinja2.FileSystemLoader(str(BUILTIN_DIR)))
        self.env = SandboxedEnvironment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2")),
            keep_trailing_newline=False,
        )
        self.zone = ZoneInfo(timezone)
        self.limit = limit
        self.base_url = base_url


def entry_url(base_url: str | None, host: str, service: str) -> str:
    """The check's page in the web UI ('' without a base URL): names percent-encoded, so a
    name cannot leave the path or break the link."""
    return f"{base_url}{page_path(CheckKey(host, service or None))}" if base_url else ""


def _time(ts: float, zone: ZoneInfo) -> str:
    day, clock = _minute(int(ts // 60), zone)
    return f"{day} {clock}"


@functools.lru_cache(maxsize=4096)
def _minute(minute: int, zone: ZoneInfo) -> tuple[str, str]:
    # a storm has thousands of entries within the same few minutes: format each minute once.
    # The zone is named (CET, CEST, UTC): a reader elsewhere, or a DST switch, must not guess.
    local = datetime.fromtimestamp(minute * 60, UTC).astimezone(zone)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M %Z")


def duration_text(seconds: float, language: str = "en") -> str:
    """'40 s', '12 min', '2 h 5 min', '3 d 4 h' (German: '3 T 4 h'): how long a problem lasted."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total} s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    day = "T" if language == "de" else "d"
    return f"{days} {day} {hours} h" if hours else f"{days} {day}"


def problem_times(data: Mapping[str, Any], zone: ZoneInfo) -> tuple[str, str]:
    """When the problem began and when it was confirmed, as shown; the confirmation without
    its date when on the same day, and '' when it adds nothing (the same minute)."""
    began, confirmed = data_time(data, "began"), data_time(data, "confirmed")
    if began is None:
        return "", ""
    began_day, began_clock = _minute(int(began // 60), zone)
    if confirmed is None:
        return f"{began_day} {began_clock}", ""
    day, clock = _minute(int(confirmed // 60), zone)
    if (day, clock) == (began_day, began_clock):
        return f"{began_day} {began_clock}", ""
    return f"{began_day} {began_clock}", clock if day == began_day else f"{day} {clock}"


def entry_vars(
    entry: Entry, zone: ZoneInfo, limit: int, language: str, base_url: str | None = None
) -> dict[str, Any]:
    is_host = not entry.service
    check = entry.host if is_host else f"{entry.host}/{entry.service}"
    data = entry.data
    recovered = entry.problem_state is not None
    since = data.get("since") if not recovered else entry.problem_at
    began, confirmed = problem_times(data, zone)
    start = _problem_start(entry)
    return {
        "type": entry.type,
        "host": entry.host,
        "service": entry.service,
        "check": check,
        "state": state_name(entry.state, is_host),
        "problem_state": (
            state_name(entry.problem_state, is_host) if entry.problem_state is not None else ""
        ),
        "recovered": recovered,
        "at": _time(entry.at, zone),
        "since": _time(float(since), zone) if since is not None else "",
        "began": began,  # the first failed check of the problem
        "confirmed": confirmed,  # when its current state became HARD
        "url": entry_url(base_url, entry.host, entry.service),
        "number": entry.number,
        "output": clean_output(entry.output, limit),
        "affected": ", ".join(summarize_names(entry.affected, language)),
        # the incident (lines.j2): what is cut off behind a host, and how it ended
        "began_clock": _minute(int(start // 60), zone)[1] if start is not None else "",
        "behind": ", ".join(summarize_names(entry.behind, language)),
        "behind_count": len(entry.behind),
        "own_services": len(entry.affected) - len(entry.behind) if entry.affected else 0,
        "reachable": entry.reachable,
        "after": (
            duration_text(entry.at - start, language)
            if start is not None and entry.type == "RECOVERY"
            else ""
        ),
        "part_of": ", ".join(entry.part_of),
        "author": clean_output(str(data.get("author", "")), 200),
        "comment": clean_output(str(data.get("comment", "")), limit),
        "escalated": bool(data.get("escalated", False)),
    }


def _problem_start(entry: Entry) -> float | None:
    """When the entry's problem began: the first failed check where known; else the first
    notification of it (rows written before `began` existed). None for a RECOVERY that cannot
    say (its problem's time is not known)."""
    if entry.problem_at is not None:
        return entry.problem_at
    began = data_time(entry.data, "began")
    if began is not None:
        return began
    if entry.type == "RECOVERY":
        return None
    since = data_time(entry.data, "since")
    return since if since is not None else entry.at


def context(
    message: Message | None,
    contact: str,
    language: str,
    zone: ZoneInfo,
    limit: int,
    test: bool,
    base_url: str | None = None,
) -> dict[str, Any]:
    found = message.entries if message else ()
    entries = [entry_vars(e, zone, limit, language, base_url) for e in found]
    # a host DOWN says how many hosts behind it it cut off: the incident in the summary too
    checks = [
        f"{e['check']} (+{e['behind_count']})"
        if e["type"] == "PROBLEM" and e["behind_count"]
        else e["check"]
        for e in entries
    ]
    summary = ", ".join(checks[:5]) + (f" (+{len(checks) - 5})" if len(checks) > 5 else "")
    return {
        "contact": contact,
        "entries": entries,
        "count": len(entries),
        "summary": summary,
        "test": test,
        "language": language,
    }


def add_incident_lines(env: jinja2.Environment, lang: str, ctx: dict[str, Any]) -> None:
    """Each entry's `headline` and `incident_subject`, from lines.j2 ('' when the entry is no
    part of an incident). Rendered here, as plain text, so that the HTML template escapes them
    like any other value: a macro called from an autoescaping template marks its (unescaped)
    text safe."""
    module = env.get_template(f"{lang}/lines.j2").module
    # an own lines.j2 without one of the macros: the plain lines (check-config says so)
    headline = getattr(module, "headline", None)
    subject = getattr(module, "subject", None)
    for e in ctx["entries"]:
        e["headline"] = str(headline(e)) if headline is not None else ""
        e["incident_subject"] = str(subject(e)) if subject is not None else ""


def incident_lines(renderer: Renderer, message: Message, language: str) -> list[str]:
    """The line each entry of `message` opens with when part of an incident ('' when not):
    what `simulate` shows of the grouping."""
    lang = language if language in LANGUAGES else "en"
    ctx = context(message, "", lang, renderer.zone, renderer.limit, False, renderer.base_url)
    add_incident_lines(renderer.env, lang, ctx)
    return [e["headline"] for e in ctx["entries"]]


def render(
    renderer: Renderer, message: Message | None, contact: str, language: str, test: bool = False
) -> Rendered:
    lang = language if language in LANGUAGES else "en"
    ctx = context(message, contact, lang, renderer.zone, renderer.limit, test, renderer.base_url)
    env = renderer.env
    add_incident_lines(env, lang, ctx)
    subject = env.get_template(f"{lang}/subject.j2").render(ctx)
    text = env.get_template(f"{lang}/body.txt.j2").render(ctx)
    html = env.get_template(f"{lang}/body.html.j2").render(ctx)
    return Rendered(one_line(subject), text.strip() + "\n", html)


def _sample() -> Message:
    # every kind of line, so that check_templates runs each branch of an own template
    times = {"began": 0.0, "confirmed": 120.0}
    entry = Entry("PROBLEM", "www1", "website", 2, "CRITICAL - sample", 0.0, 1, data=times)
    recovered = Entry("RECOVERY", "db1", "", 0, "OK", 60.0, problem_state=1, problem_at=0.0)
    behind = ("printer", "phone1", "phone2")
    down = Entry("PROBLEM", "router", "", 1, "PING CRITICAL", 0.0, 1, affected=("vpn", *behind))
    down = replace(down, behind=behind, data=times)
    back = Entry("RECOVERY", "router", "", 0, "PING OK", 720.0, behind=behind, reachable=2)
    later = Entry("PROBLEM", "printer", "", 2, "unreachable", 60.0, 2, part_of=("router",))
    entries = (entry, recovered, down, back, later)
    return Message("sample", "email", entries, (1, 2, 3, 4, 5), "<sample@augenmass>")


def check_templates(directory: Path) -> list[str]:
    """Problems of a templates directory: missing, syntax errors, unknown variables."""
    if not directory.is_dir():
        return [f"not a directory: {directory}"]
    renderer = Renderer(str(directory))
    problems: list[str] = []
    for lang in LANGUAGES:
        for name in FILES:
            path = directory / lang / name
            if not path.is_file():
                continue
            shown = f"{lang}/{name}"
            try:
                ast = renderer.env.parse(path.read_text(encoding="utf-8"))
            except jinja2.TemplateSyntaxError as exc:
                problems.append(f"{shown}:{exc.lineno}: template syntax error: {exc.message}")
                continue
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{shown}: cannot read: {exc}")
                continue
            if name == "lines.j2":
                module = renderer.env.get_template(f"{lang}/{name}").module
                for macro in ("headline", "subject"):
                    if not hasattr(module, macro):
                        problems.append(f"{shown}: the macro {macro!r} is missing")
            unknown = sorted(meta.find_undeclared_variables(ast) - VARIABLES)
            for var in unknown:
                problems.append(f"{shown}: unknown template variable {var!r}")
            if unknown:
                continue
            try:
                for test in (False, True):
                    ctx = context(
                        _sample(), "sample", lang, renderer.zone, 2000, test, "https://example.org"
                    )
                    add_incident_lines(renderer.env, lang, ctx)
                    renderer.env.get_template(f"{lang}/{name}").render(ctx)
            except jinja2.UndefinedError as exc:
                problems.append(f"{shown}: unknown template variable: {exc.message}")
            except jinja2.TemplateError as exc:
                problems.append(f"{shown}: {exc}")
    return problems
