"""`mailqueue`: how many messages wait in the local MTA's queue, and how old the oldest is.

Postfix: `postqueue -j` (JSON Lines, one object per queued message; Postfix >= 3.1), counted by
queue (active, deferred, hold, incoming/maildrop) while it streams, so a queue of millions costs
no memory. Exim: `exim -bpc` (one number: the messages on the queue).

Privacy: `postqueue -j` prints every sender and recipient address. Lines are never decoded into
objects: only `queue_name` and `arrival_time` are matched out of the raw bytes, and nothing of a
line (nor of the command's error output, which is scrubbed of anything address-like) reaches the
result, the logs or the store.

The command runs without a shell, in its own session, under the check's timeout; on the deadline
the whole process group is killed.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from augenmass.core.childenv import plugin_env
from augenmass.core.clock import Clock
from augenmass.core.fields import Text, Threshold
from augenmass.core.options import CheckModel
from augenmass.probes.base import CRITICAL, OK, UNKNOWN, OptionError, ProbeBase, ProbeOutcome
from augenmass.probes.levels import LABELS, Levels, levels, number, worst

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
MAX_LINE = 1 << 20  # one queue entry; longer ones (absurd recipient lists) count as unreadable
STDERR_KEEP = 2048
REAP_WAIT = 2.0  # seconds to wait for a SIGKILLed program to be reaped
CLOSE_WAIT = 0.5  # after exit: how long remaining output may take to arrive
QUEUES = ("active", "deferred", "hold", "incoming")
_POSTFIX_ONLY = tuple(f"{q}_{lvl}" for q in (*QUEUES, "age") for lvl in ("warning", "critical"))

# A key can only be preceded by '{' or ',' (plus blanks): inside a JSON string a quote is escaped,
# so an address that contains the text '"queue_name":"x"' cannot match.
_QUEUE_NAME = re.compile(rb'[{,]\s*"queue_name"\s*:\s*"([A-Za-z_]{1,32})"')
_ARRIVAL = re.compile(rb'[{,]\s*"arrival_time"\s*:\s*(\d{1,12}(?:\.\d+)?)\s*[,}]')
_ADDRESS = re.compile(r"\S*@\S*|<[^>]*>")


class MailqueueOptions(CheckModel):
    mta: Literal["postfix", "exim"] = Field(
        default="postfix", description="Which MTA's queue: postfix (postqueue -j) or exim."
    )
    postqueue_path: Text = Field(
        default="postqueue",
        description="The postqueue program; a bare name is looked up in PATH and /usr/sbin.",
    )
    config_directory: Text | None = Field(
        default=None,
        description="Postfix configuration directory of a second instance (postqueue -c DIR).",
    )
    exim_path: Text = Field(
        default="exim", description="The exim program (Debian: exim or exim4), as above."
    )
    warning: Threshold | None = Field(
        default=None, description="Range on the number of messages in all queues ('50')."
    )
    critical: Threshold | None = Field(default=None, description="Like warning, for CRITICAL.")
    active_warning: Threshold | None = Field(default=None, description="Range on active.")
    active_critical: Threshold | None = Field(default=None, description="Range on active.")
    deferred_warning: Threshold | None = Field(
        default=None,
        description="Range on deferred messages (at least one failed delivery attempt).",
    )
    deferred_critical: Threshold | None = Field(default=None, description="Range on deferred.")
    hold_warning: Threshold | None = Field(default=None, description="Range on held messages.")
    hold_critical: Threshold | None = Field(default=None, description="Range on held messages.")
    incoming_warning: Threshold | None = Field(
        default=None, description="Range on incoming + maildrop (not yet picked up)."
    )
    incoming_critical: Threshold | None = Field(default=None, description="Range on incoming.")
    age_warning: Threshold | None = Field(
        default=None,
        description="Range on the age of the oldest message in seconds ('3600' alerts when "
        "one waits longer than an hour). Postfix only.",
    )
    age_critical: Threshold | None = Field(default=None, description="Like age_warning.")

    @model_validator(mode="after")
    def _exim_counts_only(self) -> MailqueueOptions:
        if self.mta == "exim":
            given = [name for name in _POSTFIX_ONLY if getattr(self, name) is not None]
            if given:
                raise ValueError(
                    f"{', '.join(given)}: exim -bpc gives only the total; use warning/critical"
                )
        return self


class MailqueueProbe(ProbeBase):
    type = "mailqueue"
    Options = MailqueueOptions
    defaults: ClassVar[Mapping[str, Any]] = {}

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        mta = str(options.get("mta") or "postfix")
        if mta not in ("postfix", "exim"):
            raise OptionError(f"mailqueue: mta must be postfix or exim, not {mta!r}")
        budget = max(0.05, min(number(options, "timeout", "mailqueue", timeout), timeout))
        total = levels(options, "", "mailqueue")
        if mta == "exim":
            program = _program(options.get("exim_path"), "exim", ("exim", "exim4"))
            return await _exim(program, total, budget)
        per_queue = {q: levels(options, f"{q}_", "mailqueue") for q in QUEUES}
        age = levels(options, "age_", "mailqueue")
        program = _program(options.get("postqueue_path"), "postqueue", ("postqueue",))
        config = options.get("config_directory")
        extra = ["-c", str(config)] if config else []
        return await _postfix(program, extra, total, per_queue, age, budget, self.clock)


def _program(raw: Any, default: str, names: tuple[str, ...]) -> str | None:
    """Absolute path of the program, or None when it is nowhere to be found."""
    given = default if raw is None or raw == "" else raw
    if not isinstance(given, str):
        raise OptionError(f"mailqueue: program path must be text, not {given!r}")
    if "/" in given:
        return given if os.path.isfile(given) else None
    path_dirs = plugin_env()["PATH"].split(os.pathsep)
    candidates = (given,) if given != default else names
    for name in candidates:
        for folder in (*path_dirs, *SBIN_DIRS):
            candidate = os.path.join(folder, name)
            if folder and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return None


def _missing(what: str, option: str) -> ProbeOutcome:
    return ProbeOutcome(
        UNKNOWN, f"MAILQ UNKNOWN - {what} not found (install the MTA or set {option})"
    )


# ------------------------------------------------------------------------------------ process


class _Tally:
    """Counts postqueue -j lines as they stream in; keeps no line once it is counted."""

    def __init__(self) -> None:
        self.queues: Counter[str] = Counter()
        self.oldest: float | None = None
        self.unreadable = 0
        self._partial = bytearray()
        self._skipping = False  # inside an over-long line: drop until its newline

    def feed(self, data: bytes) -> None:
        start = 0
        while True:  # bounded: each turn consumes one newline of `data`
            end = data.find(b"\n", start)
            if end < 0:
                self._keep(data[start:])
                return
            self._keep(data[start:end])
            if self._skipping:
                self._skipping = False
            else:
                self._line(bytes(self._partial))
            self._partial.clear()
            start = end + 1

    def finish(self) -> None:
        if not self._skipping:  # a last line without its newline still counts
            self._line(bytes(self._partial))
        self._partial.clear()
        self._skipping = False

    def _keep(self, piece: bytes) -> None:
        if self._skipping:
            return
        if len(self._partial) + len(piece) > MAX_LINE:
            self._partial.clear()
            self._skipping = True
            self._count_bad()
            return
        self._partial += piece

    def _count_bad(self) -> None:
        self.unreadable += 1

    def _line(self, line: bytes) -> None:
        line = line.strip()
        if not line:
            return
        name = _QUEUE_NAME.search(line) if line[:1] == b"{" and line[-1:] == b"}" else None
        if name is None:
            self.unreadable += 1
            return
        queue = name.group(1).decode("ascii")
        self.queues["incoming" if queue == "maildrop" else queue] += 1
        arrival = _ARRIVAL.search(line)
        if arrival is not None:
            when = float(arrival.group(1))
            self.oldest = when if self.oldest is None else min(self.oldest, when)


class _Collect(asyncio.SubprocessProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, on_stdout: Any) -> None:
        self.on_stdout = on_stdout
        self.stderr = bytearray()
        self.done: asyncio.Future[None] = loop.create_future()
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            self.on_stdout(data)
        elif len(self.stderr) < STDERR_KEEP:
            self.stderr += data[: STDERR_KEEP - len(self.stderr)]

    def connection_lost(self, exc: Exception | None) -> None:
        # called once the process has exited and every pipe is closed
        if not self.done.done():
            self.done.set_result(None)


class _Finished:
    __slots__ = ("code", "stderr", "timed_out")

    def __init__(self, code: int | None, stderr: bytes, timed_out: bool) -> None:
        self.code, self.stderr, self.timed_out = code, stderr, timed_out


async def run_streaming(argv: list[str], on_stdout: Any, budget: float) -> _Finished:
    """Run argv, hand stdout to `on_stdout` as it arrives; kill the group at the deadline.
    Raises OSError when the program cannot be started."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _Collect(loop, on_stdout),
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=plugin_env(),
        start_new_session=True,
    )
    timed_out = False
    try:
        try:
            # a bound on real waiting for a program: on the loop's clock, like every deadline
            await asyncio.wait_for(asyncio.shield(protocol.done), budget)
        except TimeoutError:
            timed_out = True
        code = transport.get_returncode()
        if code is not None and not timed_out:
            return _Finished(code, bytes(protocol.stderr), False)
        return _Finished(None, bytes(protocol.stderr), True)
    finally:
        _kill_group(transport.get_pid())
        # Reap it (bounded) before letting go: an unreaped child stays a zombie and its Popen
        # object complains when collected.
        try:
            await asyncio.wait_for(asyncio.shield(protocol.exited), REAP_WAIT)
        except TimeoutError:
            pass
        finally:
            transport.close()  # closes our pipe ends even if a grandchild still holds the others


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _stderr_text(raw: bytes) -> str:
    """The line that says why (postfix's "fatal:" line, else the last one), scrubbed of
    anything address-like: error text may name a sender or recipient."""
    lines = [line for line in raw.decode("utf-8", "replace").splitlines() if line.strip()]
    fatal = [line for line in lines if "fatal:" in line]
    chosen = (fatal or lines or [""])[-1].strip()
    return _ADDRESS.sub("<address>", chosen)[:200]


def _failure(program: str, done: _Finished, budget: float, hint: str) -> ProbeOutcome | None:
    name = os.path.basename(program)
    if done.timed_out:
        return ProbeOutcome(
            UNKNOWN, f"MAILQ UNKNOWN - {name} did not finish within {budget:g} s (killed)"
        )
    if done.code != 0:
        why = _stderr_text(done.stderr) or "no error text"
        return ProbeOutcome(
            CRITICAL, f"MAILQ CRITICAL - {name} exited with {done.code}: {why}", hint
        )
    return None


# ------------------------------------------------------------------------------------ postfix


async def _postfix(
    program: str | None,
    extra: list[str],
    total: Levels,
    per_queue: dict[str, Levels],
    age: Levels,
    budget: float,
    clock: Clock,
) -> ProbeOutcome:
    if program is None:
        return _missing("postqueue", "postqueue_path")
    tally = _Tally()
    try:
        done = await run_streaming([program, *extra, "-j"], tally.feed, budget)
    except OSError as exc:
        return ProbeOutcome(UNKNOWN, f"MAILQ UNKNOWN - cannot run {program}: {exc.strerror}")
    hint = (
        "postqueue -j needs Postfix >= 3.1 and a running mail system; the user running "
        "augenmass must be in authorized_mailq_users"
    )
    failed = _failure(program, done, budget, hint)
    if failed is not None:
        return failed
    tally.finish()
    return _postfix_outcome(tally, total, per_queue, age, clock.now())


def _postfix_outcome(
    tally: _Tally, total: Levels, per_queue: dict[str, Levels], age: Levels, now: float
) -> ProbeOutcome:
    counts = {q: tally.queues.get(q, 0) for q in QUEUES}
    other = sum(n for q, n in tally.queues.items() if q not in QUEUES)
    count = sum(counts.values()) + other
    oldest = max(0.0, now - tally.oldest) if tally.oldest is not None else 0.0
    states = [total.state(count), age.state(oldest)]
    states += [per_queue[q].state(counts[q]) for q in QUEUES]
    perf = [total.perf("total", count, "", 0.0)]
    perf += [per_queue[q].perf(q, counts[q], "", 0.0) for q in QUEUES]
    perf.append(age.perf("oldest_age", round(oldest, 1), "s", 0.0))
    notes: list[str] = []
    if tally.unreadable:
        states.append(UNKNOWN)
        notes.append(f"{tally.unreadable} unreadable line(s) from postqueue -j ignored")
    state = worst(states)
    detail = ", ".join(f"{counts[q]} {q}" for q in QUEUES)
    age_text = f", oldest {_age_text(oldest)}" if count else ""
    unread = f" ({tally.unreadable} unreadable lines)" if tally.unreadable else ""
    return ProbeOutcome(
        status=state,
        output=f"MAILQ {LABELS[state]} - {count} message{_s(count)} ({detail}){age_text}{unread}",
        long_output="\n".join(notes),
        perfdata=tuple(perf),
    )


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _age_text(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


# --------------------------------------------------------------------------------------- exim


async def _exim(program: str | None, total: Levels, budget: float) -> ProbeOutcome:
    if program is None:
        return _missing("exim", "exim_path")
    out = bytearray()

    def keep(data: bytes) -> None:
        if len(out) < 256:  # one number is expected; the rest is garbage anyway
            out.extend(data[: 256 - len(out)])

    try:
        done = await run_streaming([program, "-bpc"], keep, budget)
    except OSError as exc:
        return ProbeOutcome(UNKNOWN, f"MAILQ UNKNOWN - cannot run {program}: {exc.strerror}")
    hint = "exim -bpc needs queue_list_requires_admin = false or an admin user"
    failed = _failure(program, done, budget, hint)
    if failed is not None:
        return failed
    text = out.decode("ascii", "replace").strip()
    if not text.isdigit():
        return ProbeOutcome(UNKNOWN, "MAILQ UNKNOWN - exim -bpc did not print a number")
    count = int(text)
    state = total.state(count)
    status = OK if state == OK else state
    return ProbeOutcome(
        status=status,
        output=f"MAILQ {LABELS[status]} - {count} message{_s(count)} in the exim queue",
        perfdata=(total.perf("total", count, "", 0.0),),
    )
