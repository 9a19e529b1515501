"""Plugins that misbehave: bad exit codes, hostile output, floods, hangs, escaping children."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from runner_helpers import PLUGINS, alive, gone, job, make_runner, my_children, write_plugin

from augenmass.runner import Runner
from augenmass.runner.process import TERM_GRACE


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (4, "exit code 4 out of bounds"),
        (127, "plugin not found: "),
        (126, "plugin not executable: "),
        (139, "exit code 139 out of bounds (a shell's code for SIGSEGV)"),
        (255, "exit code 255 out of bounds"),
    ],
)
async def test_exit_code_out_of_range_is_unknown_with_reason(
    runner: Runner, code: int, text: str
) -> None:
    result = await runner.run(job(["exit_with.sh", str(code)]))
    assert result.status == 3
    assert text in result.output
    assert f"exiting with {code}" in result.long_output  # the plugin's own words are kept


async def test_exit_code_state_is_configurable(runner: Runner) -> None:
    result = await runner.run(job(["exit_with.sh", "42"], exit_code_state=2))
    assert (result.status, result.output) == (2, "exit code 42 out of bounds")


@pytest.mark.parametrize("sig", ["SEGV", "KILL", "ABRT"])
async def test_killed_by_signal(runner: Runner, sig: str) -> None:
    result = await runner.run(job(["kill_self.sh", sig]))
    assert result.status == 3
    assert result.output == f"killed by SIG{sig}"


async def test_plugin_not_found(runner: Runner, tmp_path: Path) -> None:
    missing = await runner.run(job([str(tmp_path / "nothing")]))
    by_name = await runner.run(job(["check_does_not_exist_anywhere"]))
    assert (missing.status, missing.output) == (3, f"plugin not found: {tmp_path / 'nothing'}")
    assert (by_name.status, by_name.output) == (
        3,
        "plugin not found: check_does_not_exist_anywhere",
    )


async def test_plugin_not_executable(runner: Runner, tmp_path: Path) -> None:
    path = write_plugin(tmp_path, "noexec", "echo hi\n", mode=0o644)
    result = await runner.run(job([str(path)]))
    assert (result.status, result.output) == (3, f"plugin not executable: {path}")
    folder = await runner.run(job([str(tmp_path)]))
    assert folder.output == f"plugin not executable: {tmp_path}"


async def test_missing_interpreter_is_explained(runner: Runner, tmp_path: Path) -> None:
    path = tmp_path / "badshebang"
    path.write_text("#!/nonexistent/interpreter\n")
    path.chmod(0o755)
    result = await runner.run(job([str(path)]))
    assert result.status == 3
    assert result.output == f"plugin cannot be started: {path}: interpreter not found"


async def test_script_without_shebang_is_unknown(runner: Runner, tmp_path: Path) -> None:
    path = tmp_path / "binary"
    path.write_bytes(b"\x7fELF\x00garbage")
    path.chmod(0o755)
    result = await runner.run(job([str(path)]))
    assert result.status == 3
    assert result.output.startswith(f"plugin cannot be started: {path}")


async def test_garbage_output_is_made_safe(runner: Runner) -> None:
    result = await runner.run(job(["garbage.sh"]))
    assert result.status == 0
    assert result.output == "OK red textwith nul \ufffd\ufffd bad bell"
    assert result.long_output == "second line  c1\nthird line"
    for text in (result.output, result.long_output):
        assert not any(ord(c) < 32 and c not in "\n\t" for c in text)
        assert "\x9b" not in text
    assert [(p.label, p.value, p.warn, p.crit) for p in result.perfdata] == [
        ("load", 1.0, "2", "3")
    ]
    assert result.notes == ("perfdata item 'x=1,5' skipped: bad unit ',5'",)


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
async def test_ten_megabytes_are_capped_and_marked(stream: str) -> None:
    runner = make_runner(output_limit=4096)
    result = await runner.run(job(["big_output.sh", stream]))
    assert result.status == 0
    assert result.truncated
    assert len(result.output) + len(result.long_output) <= 2 * 4096 + 100
    assert result.long_output.endswith("… [output truncated at 4096 bytes]")


async def test_small_output_is_not_marked_truncated(runner: Runner) -> None:
    result = await runner.run(job(["exit_with.sh", "0"]))
    assert not result.truncated
    assert result.output == "exiting with 0"


async def test_stderr_alone_becomes_the_output(runner: Runner) -> None:
    result = await runner.run(job(["stderr_only.sh"]))
    assert (result.status, result.output) == (2, "something went wrong")


async def test_stderr_goes_to_long_output_not_perfdata(runner: Runner) -> None:
    result = await runner.run(job(["stderr_only.sh", "both"]))
    assert result.output == "OK - fine"
    assert result.long_output == "[stderr]\nsomething went wrong"
    assert [p.label for p in result.perfdata] == ["t"]


async def test_timeout_kills_a_plugin_that_ignores_term(runner: Runner) -> None:
    started = time.monotonic()
    result = await runner.run(job(["hang.sh", "ignore-term"], timeout=0.3))
    elapsed = time.monotonic() - started
    assert result.status == 3
    assert result.output == "timed out after 0.3 s"
    assert "hanging" in result.long_output  # what it printed before the deadline is kept
    assert elapsed < 0.3 + TERM_GRACE + 2.0  # bounded: TERM, grace, KILL, reap
    assert my_children() == []


async def test_timeout_state_is_configurable(runner: Runner) -> None:
    result = await runner.run(job(["hang.sh"], timeout=0.2, timeout_state=2))
    assert (result.status, result.output) == (2, "timed out after 0.2 s")


async def test_grandchild_holding_stdout_does_not_hang_us(runner: Runner, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    result = await runner.run(job(["grandchild_stdout.sh", str(pidfile)], timeout=20))
    assert time.monotonic() - started < 5  # returned at the plugin's exit, not after sleep 60
    assert (result.status, result.output) == (0, "OK - parent done")
    assert await gone(int(pidfile.read_text()))


async def test_daemonised_child_in_the_group_is_killed(runner: Runner, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    result = await runner.run(job(["daemonize.sh", str(pidfile)]))
    assert (result.status, result.output) == (0, "OK - daemon started")
    assert await gone(int(pidfile.read_text()))


async def test_fifty_timeouts_leave_no_children_or_zombies() -> None:
    runner = make_runner()
    before = my_children()
    jobs = [job(["hang.sh"], timeout=0.2) for _ in range(50)]
    results = await asyncio.gather(*(runner.run(j) for j in jobs))
    assert {r.output for r in results} == {"timed out after 0.2 s"}
    assert my_children() == before == []


async def test_cancelled_check_leaves_nothing_running(runner: Runner, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    plugin = write_plugin(tmp_path, "p", f'echo $$ > "{pidfile}"\nexec sleep 60\n')
    task = asyncio.create_task(runner.run(job([str(plugin)])))
    for _ in range(200):  # wait (at most 2 s) until the plugin has started
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pid = int(pidfile.read_text())
    for _ in range(100):
        if not alive(pid) and my_children() == []:
            break
        await asyncio.sleep(0.01)
    assert not alive(pid)
    assert my_children() == []


@pytest.mark.parametrize(
    "value", ["x; touch {f}", "$(touch {f})", "`touch {f}`", "a\ntouch {f}", "-oX={f} && touch {f}"]
)
async def test_macro_values_are_never_interpreted(
    runner: Runner, tmp_path: Path, value: str
) -> None:
    target = tmp_path / "pwned"
    evil = value.format(f=target)
    result = await runner.run(
        job(["print_args.sh", "--host", "$HOSTADDRESS$"], macros={"HOSTADDRESS": evil})
    )
    assert result.output == "OK - 2 args"
    assert result.long_output == f"[--host]\n[{evil}]"
    assert not target.exists()


async def test_plugin_found_in_plugin_dirs_before_path(tmp_path: Path) -> None:
    write_plugin(tmp_path, "check_dummy", 'echo "OK - mine"\n')
    runner = Runner([str(tmp_path), "/usr/lib/nagios/plugins"])
    result = await runner.run(job(["check_dummy", "0"]))
    assert result.output == "OK - mine"


async def test_plugin_path_is_found_in_path(runner: Runner) -> None:
    result = await runner.run(job(["true"]))
    assert (result.status, result.output) == (0, "(No output returned from plugin)")


async def test_host_check_without_output(runner: Runner) -> None:
    from augenmass.core.values import CheckKey

    result = await runner.run(job(["true"], key=CheckKey("web1")))
    assert result.output == "(No output returned from host check)"


def test_plugins_folder_is_executable() -> None:
    assert all(p.stat().st_mode & 0o111 for p in PLUGINS.glob("*.sh"))


async def test_nul_in_an_argument_is_reported(runner: Runner) -> None:
    result = await runner.run(job(["print_args.sh", "$X$"], macros={"X": "a\x00b"}))
    assert result.status == 3
    assert result.output.endswith("print_args.sh: an argument contains a NUL byte")


async def test_without_pidfd_the_polling_fallback_works(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pidfd(pid: int) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr("os.pidfd_open", no_pidfd)
    done = await runner.run(job(["exit_with.sh", "2"]))
    hung = await runner.run(job(["hang.sh"], timeout=0.2))
    assert (done.status, done.output) == (2, "exiting with 2")
    assert (hung.status, hung.output) == (3, "timed out after 0.2 s")
    assert my_children() == []
