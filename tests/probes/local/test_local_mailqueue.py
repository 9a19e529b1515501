"""`mailqueue`: a real Postfix queue, recorded postqueue -j output, exim -bpc, and the bad
cases (missing, hanging, failing, garbage, huge). No address may ever reach a result."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from fakeclock import FakeClock
from local_probe_helpers import RECORDED, job, open_fds, script

from augenmass.config.checks import check_model
from augenmass.core.perfdata import format_perfdata
from augenmass.core.values import CheckResult
from augenmass.probes.base import ProbeOutcome
from augenmass.probes.mailqueue import MailqueueProbe
from augenmass.runner import Runner

SENTINEL = "leak.example"


def everything(got: CheckResult | ProbeOutcome) -> str:
    """All text a result carries, perfdata included: what could end up in logs or the store."""
    parts = [got.output, got.long_output, format_perfdata(got.perfdata), *got.notes]
    return "\n".join(parts)


def counts(got: CheckResult | ProbeOutcome) -> dict[str, float | None]:
    return {p.label: p.value for p in got.perfdata}


def submit(conf: Path, sender: str, *recipients: str) -> None:
    subprocess.run(
        ["/usr/sbin/sendmail", "-C", str(conf), "-f", sender, *recipients],
        input=b"Subject: queued by a test\n\nhello\n",
        capture_output=True,
        timeout=20,
        check=True,
    )


def move_one(conf: Path, target: str) -> None:
    queue = conf.parent / "queue"
    name = sorted(os.listdir(queue / "maildrop"))[0]
    os.rename(queue / "maildrop" / name, queue / target / name)


@pytest.mark.slow
async def test_real_postfix_queue(postfix_queue: Path) -> None:
    conf = postfix_queue
    options = {"config_directory": str(conf)}
    empty = await MailqueueProbe().run(options, 10.0)
    assert (empty.status, empty.output) == (
        0,
        "MAILQ OK - 0 messages (0 active, 0 deferred, 0 hold, 0 incoming)",
    )
    for i in range(5):
        submit(conf, f"sentinel.sender{i}@{SENTINEL}", f"sentinel.rcpt{i}@{SENTINEL}")
    move_one(conf, "deferred")
    move_one(conf, "deferred")
    move_one(conf, "hold")
    move_one(conf, "active")
    got = await MailqueueProbe().run(
        {**options, "deferred_warning": "1", "hold_critical": "5", "age_warning": "3600"}, 10.0
    )
    assert got.status == 1, got.output
    assert got.output.startswith(
        "MAILQ WARNING - 5 messages (1 active, 2 deferred, 1 hold, 1 incoming), oldest "
    )
    assert counts(got) == {
        "total": 5,
        "active": 1,
        "deferred": 2,
        "hold": 1,
        "incoming": 1,
        "oldest_age": pytest.approx(counts(got)["oldest_age"], abs=0),
    }
    assert 0 <= (counts(got)["oldest_age"] or 0) < 120
    assert SENTINEL not in everything(got) and "sentinel" not in everything(got)


def fake_postqueue(folder: Path, body: str) -> str:
    return script(folder, "postqueue", body)


async def test_recorded_output_counts_per_queue(tmp_path: Path) -> None:
    program = fake_postqueue(tmp_path, f'cat "{RECORDED}"\n')
    got = await MailqueueProbe().run({"postqueue_path": program, "critical": "5"}, 5.0)
    # 6 messages, total above 5: CRITICAL
    assert got.status == 2
    assert got.output.startswith(
        "MAILQ CRITICAL - 6 messages (1 active, 2 deferred, 1 hold, 2 incoming), oldest "
    )
    assert SENTINEL not in everything(got)


async def test_age_of_the_oldest_message(tmp_path: Path) -> None:
    clock = FakeClock()  # the ages are measured on the probe's clock
    now = clock.now()
    lines = [
        {"queue_name": "deferred", "queue_id": "A1", "arrival_time": int(now - 7200),
         "sender": f"x@{SENTINEL}", "recipients": [{"address": f"y@{SENTINEL}",
                                                    "delay_reason": "connect timed out"}]},
        {"queue_name": "active", "queue_id": "A2", "arrival_time": int(now - 60)},
    ]  # fmt: skip
    data = tmp_path / "queue.jsonl"
    data.write_text("".join(json.dumps(line) + "\n" for line in lines))
    program = fake_postqueue(tmp_path, f'cat "{data}"\n')
    probe = MailqueueProbe(clock=clock)
    options = {"postqueue_path": program, "age_warning": "3600", "age_critical": "86400"}
    got = await probe.run(options, 5.0)
    assert got.status == 1
    assert "oldest 2.0 h" in got.output
    assert counts(got)["oldest_age"] == 7200
    assert SENTINEL not in everything(got) and "timed out" not in everything(got)
    await clock.advance(86400)  # the same queue a day later
    later = await probe.run(options, 5.0)
    assert later.status == 2 and counts(later)["oldest_age"] == 7200 + 86400


async def test_garbage_lines_are_counted_not_echoed(tmp_path: Path) -> None:
    data = tmp_path / "garbage.jsonl"
    data.write_text(
        '{"queue_name": "deferred", "queue_id": "B1", "arrival_time": 1}\n'
        f'{{"queue_name": "active", "sender": "sentinel@{SENTINEL}"\n'  # cut off
        f"not json at all sentinel@{SENTINEL}\n"
        f'{{"sender": "sentinel@{SENTINEL}", "note": "\\"queue_name\\": \\"hold\\""}}\n'
        "\n"
        '{"queue_name": "hold", "queue_id": "B2"}'  # last line without a newline counts
    )
    program = fake_postqueue(tmp_path, f'cat "{data}"\n')
    got = await MailqueueProbe().run({"postqueue_path": program}, 5.0)
    assert got.status == 3
    assert got.output.startswith(
        "MAILQ UNKNOWN - 2 messages (0 active, 1 deferred, 1 hold, 0 incoming)"
    )
    assert got.output.endswith("(3 unreadable lines)")
    assert SENTINEL not in everything(got)


async def test_thresholds_outrank_unreadable_lines(tmp_path: Path) -> None:
    program = fake_postqueue(tmp_path, 'echo \'{"queue_name": "deferred"}\'\necho garbage\n')
    got = await MailqueueProbe().run({"postqueue_path": program, "deferred_critical": "0"}, 5.0)
    assert got.status == 2


async def test_huge_queue_streams(tmp_path: Path) -> None:
    line = json.dumps(
        {"queue_name": "deferred", "queue_id": "C", "arrival_time": 1700000000,
         "sender": f"s@{SENTINEL}", "recipients": [{"address": f"r@{SENTINEL}"}]}
    )  # fmt: skip
    program = fake_postqueue(tmp_path, f"yes '{line}' | head -n 200000\n")
    got = await MailqueueProbe().run({"postqueue_path": program, "deferred_warning": "1000"}, 20.0)
    assert got.status == 1
    assert counts(got)["deferred"] == 200000
    assert SENTINEL not in everything(got)


async def test_one_enormous_line_is_unreadable(tmp_path: Path) -> None:
    program = fake_postqueue(
        tmp_path,
        'printf \'{"queue_name": "hold", "recipients": "\'\n'
        "head -c 3000000 /dev/zero | tr '\\0' x\n"
        'printf \'"}\\n{"queue_name": "active"}\\n\'\n',
    )
    got = await MailqueueProbe().run({"postqueue_path": program}, 10.0)
    assert counts(got)["active"] == 1 and counts(got)["hold"] == 0
    assert got.output.endswith("(1 unreadable lines)")


async def test_missing_program_is_unknown(tmp_path: Path) -> None:
    got = await MailqueueProbe().run({"postqueue_path": str(tmp_path / "nope")}, 5.0)
    assert got.status == 3
    assert got.output == (
        "MAILQ UNKNOWN - postqueue not found (install the MTA or set postqueue_path)"
    )


async def test_failure_is_critical_without_addresses(tmp_path: Path) -> None:
    program = fake_postqueue(
        tmp_path,
        "echo 'postqueue: warning: Mail system is down' >&2\n"
        f"echo 'postqueue: fatal: cannot deliver to <sentinel@{SENTINEL}> for x@{SENTINEL}' >&2\n"
        "echo 'a last line' >&2\n"
        "exit 69\n",
    )
    got = await MailqueueProbe().run({"postqueue_path": program}, 5.0)
    assert got.status == 2
    assert got.output == (
        "MAILQ CRITICAL - postqueue exited with 69: "
        "postqueue: fatal: cannot deliver to <address> for <address>"
    )
    assert "authorized_mailq_users" in got.long_output
    assert SENTINEL not in everything(got)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
async def test_hanging_program_is_killed_within_the_timeout(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # the script and a grandchild both hang; both must be gone afterwards
    program = fake_postqueue(tmp_path, f"sleep 60 & echo $$ $! > {pids}\nwait\n")
    started = time.monotonic()
    got = await MailqueueProbe().run({"postqueue_path": program}, 1.0)
    elapsed = time.monotonic() - started
    assert got.status == 3
    assert got.output == "MAILQ UNKNOWN - postqueue did not finish within 1 s (killed)"
    assert elapsed < 3.0
    for _ in range(200):  # SIGKILL delivery is asynchronous: a bounded wait
        if not any(alive(int(p)) for p in pids.read_text().split()):
            break
        await asyncio.sleep(0.01)
    assert not any(alive(int(p)) for p in pids.read_text().split())


async def test_exim_count(tmp_path: Path) -> None:
    exim = script(tmp_path, "exim", '[ "$1" = -bpc ] && echo 7\n')
    got = await MailqueueProbe().run({"mta": "exim", "exim_path": exim, "warning": "5"}, 5.0)
    assert (got.status, got.output) == (1, "MAILQ WARNING - 7 messages in the exim queue")
    assert counts(got) == {"total": 7}
    garbage = script(tmp_path, "exim2", "echo 'queue: 7'\n")
    bad = await MailqueueProbe().run({"mta": "exim", "exim_path": garbage}, 5.0)
    assert (bad.status, bad.output) == (3, "MAILQ UNKNOWN - exim -bpc did not print a number")


def test_options_model() -> None:
    model = check_model("mailqueue")
    assert not isinstance(model, str)
    with pytest.raises(ValueError, match="deferred_warning: exim -bpc gives only the total"):
        model.model_validate({"mta": "exim", "deferred_warning": "5"})
    with pytest.raises(ValueError, match="Range format incorrect"):
        model.model_validate({"age_critical": "1h"})
    with pytest.raises(ValueError):
        model.model_validate({"mta": "sendmail"})
    assert model.model_validate({"mta": "exim", "critical": 100}).model_dump()["critical"] == "100"


@pytest.mark.slow
async def test_no_fd_or_task_leaks(tmp_path: Path, runner: Runner) -> None:
    program = fake_postqueue(tmp_path, f'cat "{RECORDED}"\n')
    failing = fake_postqueue_named(tmp_path, "failing", "exit 1\n")
    first = await runner.run(job("mailqueue", {"postqueue_path": program}))
    assert first.status == 0 and SENTINEL not in everything(first)
    fds, tasks = open_fds(), len(asyncio.all_tasks())
    for i in range(300):
        path = failing if i % 3 == 0 else program
        result = await runner.run(job("mailqueue", {"postqueue_path": path}))
        assert result.status == (2 if i % 3 == 0 else 0)
    await asyncio.sleep(0.05)  # let the last transports finish closing
    assert open_fds() <= fds
    assert len(asyncio.all_tasks()) <= tasks


def fake_postqueue_named(folder: Path, name: str, body: str) -> str:
    return script(folder, name, body)


async def test_real_postqueue_is_found_without_a_path() -> None:
    if shutil.which("postqueue", path="/usr/sbin:/usr/bin") is None:
        pytest.skip("postfix not installed")
    probe = MailqueueProbe()
    # with no private config this reads the system queue: whatever it says, never an address
    got = await probe.run({}, 5.0)
    assert "not found" not in got.output
