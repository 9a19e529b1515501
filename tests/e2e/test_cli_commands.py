"""Operator commands as a user types them: a typo is an error at once (exit 2), never a
traceback or a "queued" that the server later refuses in its log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import ServerProcess, cli, wait_for

CONFIG = """
settings: {max_check_spread: 1s}
hosts:
  www1: {address: 127.0.0.1, check: none}
services:
  - name: website
    host: www1
    check_interval: 1h
    max_check_attempts: 1
    check: {type: dummy, state: critical, output: "down"}
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(CONFIG)
    proc = ServerProcess(cfg, tmp_path / "data").start()
    wait_for(
        lambda: proc.status().get("www1/website", {}).get("state") == "CRITICAL", 20, "the check"
    )
    yield proc
    proc.stop()


def test_a_bad_duration_is_a_usage_error_without_a_traceback(tmp_path: Path) -> None:
    for args in (
        ("downtime", "www1", "--duration", "2x"),
        ("downtime", "www1", "--start-in", "soon"),
        ("acknowledge", "www1", "website", "--expires", "tomorrow"),
    ):
        out = cli(*args, "--data", str(tmp_path))
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert "Traceback" not in out.stderr + out.stdout
        assert "invalid duration" in out.stderr, out.stderr
    spool = tmp_path / "commands"
    assert not spool.exists() or not list(spool.glob("*.json"))  # nothing queued


def test_an_unknown_object_is_refused_at_once_with_the_nearest_name(
    server: ServerProcess,
) -> None:
    data = str(server.data)
    out = cli("acknowledge", "ww1", "website", "-m", "typo", "--data", data)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "unknown host 'ww1' (did you mean 'www1'?)" in out.stderr
    assert "queued" not in out.stdout

    out = cli("downtime", "www1", "websit", "--duration", "1h", "--data", data)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "'websit' (did you mean 'website'?)" in out.stderr

    # a right one is applied, and the CLI says so rather than "queued"
    out = cli("acknowledge", "www1", "website", "-m", "on it", "--data", data)
    assert out.returncode == 0, out.stderr
    assert "applied acknowledge" in out.stdout
    assert server.status()["www1/website"]["acknowledged"]
    # nothing is left behind in the spool
    assert sorted(p.name for p in (server.data / "commands").iterdir()) == []


def test_without_a_server_the_command_waits_in_the_spool(tmp_path: Path) -> None:
    out = cli("acknowledge", "anything", "--data", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "no server is running" in out.stdout
    assert len(list((tmp_path / "commands").glob("*.json"))) == 1


def test_probe_help_lists_every_type_in_80_columns() -> None:
    from augenmass.probes import PROBES

    out = cli("probe", "--help")
    assert out.returncode == 0, out.stderr
    listed = {line.split()[0] for line in out.stdout.splitlines() if line.startswith("  ")}
    assert listed == set(PROBES)
    assert all(len(line) <= 80 for line in out.stdout.splitlines()), out.stdout
    assert all(
        len(line.split(None, 1)) == 2 for line in out.stdout.splitlines() if line[:2] == "  "
    )


def test_a_misspelt_probe_type_gets_the_nearest_one() -> None:
    out = cli("probe", "htp", "--url", "http://127.0.0.1:9/")
    assert out.returncode == 3  # UNKNOWN, as a plugin must answer when Nagios runs it
    assert "unknown probe type 'htp' (did you mean 'http'?)" in out.stderr


RELAY = "mail-relay-frankfurt-office.example.org"
STATUS_CONFIG = """
settings: {max_check_spread: 1s}
hosts:
  mail-relay-frankfurt-office.example.org: {address: 127.0.0.1, check: none}
  www1: {address: 127.0.0.1, check: none}
services:
  - name: mail queue of the relay in the office
    host: mail-relay-frankfurt-office.example.org
    check_interval: 1h
    max_check_attempts: 3
    check: {type: dummy, state: warning, output: "%s"}
  - name: website
    host: www1
    check_interval: 1h
    max_check_attempts: 1
    check: {type: dummy, state: critical, output: "connection refused"}
  - name: tls
    host: www1
    check_interval: 1h
    check: {type: dummy, state: ok, output: "certificate valid for 80 days"}
""" % ("123 messages queued, oldest 4h; " * 8)


def test_status_fits_80_columns_one_line_a_check(tmp_path: Path) -> None:
    import os

    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(STATUS_CONFIG)
    proc = ServerProcess(cfg, tmp_path / "data").start()
    try:
        services = ("www1/website", "www1/tls", f"{RELAY}/mail queue of the relay in the office")
        wait_for(
            lambda: all(proc.status().get(k, {}).get("last_check") for k in services),
            20,
            "every service checked",
        )
        env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
        import subprocess
        import sys

        def run(*args: str) -> str:
            out = subprocess.run(
                [sys.executable, "-m", "augenmass", "status", "--data", str(proc.data), *args],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=True,
            )
            return out.stdout

        every = run("--all")
        lines = every.splitlines()
        assert all(len(line) <= 80 for line in lines), every
        assert f"{len(proc.status())} checks, 2 problems" in every
        # one line a check: the host name starts a row (cut with an ellipsis, not wrapped)
        assert sum("www1/website" in line for line in lines) == 1, every
        assert sum("mail-relay-frankfu" in line for line in lines) == 1, every
        website = next(line for line in lines if "www1/website" in line)
        assert "CRIT" in website and "connection refused" in website
        relay = next(
            line for line in lines if "mail queue" in line or "…" in line and "WARN" in line
        )
        assert "WARN soft 1" in relay, every

        problems = run()
        assert "2 problems" in problems and "tls" not in problems
    finally:
        proc.stop()


def test_bash_completes_commands_and_options(tmp_path: Path) -> None:
    """The script `--show-completion` prints, sourced into a real bash, completes."""
    import os
    import subprocess
    import sys

    bindir = str(Path(sys.executable).parent)  # the venv's `augenmass` entry point
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "SHELL": "/bin/bash"}
    # Typed in a bash, as a user does: typer finds the shell among the command's ancestors
    # (shellingham). Started by pytest itself, the nearest shell can be too far up (a loaded
    # suite's xdist worker: "Shell  not supported."). `; exit $?` keeps bash from exec'ing it.
    shown = subprocess.run(
        ["bash", "-c", "augenmass --show-completion; exit $?"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert shown.returncode == 0, (shown.returncode, shown.stdout[-2000:], shown.stderr[-2000:])
    script = shown.stdout
    assert "complete" in script and "_AUGENMASS_COMPLETE" in script
    (tmp_path / "completion.bash").write_text(script)

    def complete(*words: str) -> list[str]:
        line = " ".join(words)
        probe = (
            f"source {tmp_path / 'completion.bash'}; COMP_WORDS=({line}); "
            f"COMP_CWORD={len(words) - 1}; _augenmass_completion augenmass; "
            'printf "%s\\n" "${COMPREPLY[@]}"'
        )
        out = subprocess.run(
            ["bash", "-c", probe], capture_output=True, text=True, env=env, timeout=60
        )
        return out.stdout.split()

    assert "status" in complete("augenmass", "sta")
    assert "downtime" in complete("augenmass", "down")
    assert "--duration" in complete("augenmass", "downtime", "www1", "--dur")


def test_monitoring_plugins_short_options_carry_over() -> None:
    """`check_tcp -H … -p … -w … -c … -t …` works as `augenmass probe tcp` with the same flags."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        out = cli("probe", "tcp", "-H", "127.0.0.1", "-p", str(port), "-w", "1", "-c5", "-t", "10")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("TCP OK")
    assert ";1;5;0;10" in out.stdout  # warning, critical and timeout reached the probe
    bad = cli("probe", "tcp", "-H", "127.0.0.1", "-X", "1")
    assert bad.returncode == 3 and "unknown option -X" in bad.stderr


def test_every_probe_help_fits_80_columns_and_describes_each_option() -> None:
    from augenmass.probes import PROBES

    for kind in PROBES:
        out = cli("probe", kind, "--help")
        assert out.returncode == 0, (kind, out.stderr)
        lines = out.stdout.splitlines()
        assert all(len(line) <= 80 for line in lines), (kind, out.stdout)
        options = [i for i, line in enumerate(lines) if line.startswith("  -")]
        assert options, kind
        # each option line is followed by its description, indented
        assert all(lines[i + 1].startswith("      ") for i in options), (kind, out.stdout)


def test_a_file_that_cannot_be_opened_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    for args in (
        ("simulate", "--config", str(root / "examples" / "config"), str(tmp_path / "nope.jsonl")),
        ("config-reference", "--output", str(tmp_path / "no" / "such" / "dir.md")),
    ):
        out = cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert "Traceback" not in out.stderr + out.stdout
        assert out.stderr.strip().count("\n") == 0 and "No such file or directory" in out.stderr
