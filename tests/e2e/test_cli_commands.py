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
