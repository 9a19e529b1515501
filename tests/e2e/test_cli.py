"""The CLI as a user runs it: check-config, simulate, check, status, version."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def test_check_config_accepts_the_example_and_prints_a_summary() -> None:
    out = cli("check-config", str(EXAMPLES / "config"))
    assert out.returncode == 0, out.stderr
    assert "hosts" in out.stdout and "services" in out.stdout
    # the printer, the phones and the monitor name no check: the default pings them
    assert out.stdout.startswith("OK: 10 hosts (6 by the default host check), ")


def test_check_config_lists_every_error_with_file_line_and_path_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "hosts:\n"
        "  www1:\n"
        "    address: 127.0.0.1\n"
        "    parents: [nowhere]\n"
        "services:\n"
        "  - name: web\n"
        "    host: www1\n"
        "    chek_interval: 1m\n"
        "    check: {type: plugin, command: [check_http]}\n"
    )
    out = cli("check-config", str(bad))
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert any(f"{bad}:4:" in line and "nowhere" in line for line in lines), out.stderr
    assert any(f"{bad}:8:" in line and "check_interval" in line for line in lines), out.stderr
    assert "2 errors" in out.stderr


def test_simulate_the_example_timeline_tells_the_web_team_after_three_attempts() -> None:
    out = cli("simulate", "--config", str(EXAMPLES / "config"), str(EXAMPLES / "timeline.jsonl"))
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    web = [e for e in events if e["host"] == "www1" and e["service"] == "website"]
    states = [(e["state"], e["state_type"], e["attempt"]) for e in web if e["event"] == "state"]
    assert ("CRITICAL", "SOFT", 1) in states
    assert ("CRITICAL", "HARD", 3) in states
    problem = [e for e in web if e["event"] == "notification" and e["type"] == "PROBLEM"]
    assert len(problem) == 1
    assert problem[0]["at"] == "2026-03-02T10:01:40Z"
    assert set(problem[0]["contacts"]) == {"it-lead", "it-officer", "web-admin"}
    toner = [e for e in events if e["service"] == "toner" and e["event"] == "notification"]
    assert [(e["type"], e["contacts"]) for e in toner] == [("PROBLEM", ["office-manager"])]


def test_simulate_reports_a_bad_timeline_line_and_exits_2(tmp_path: Path) -> None:
    timeline = tmp_path / "t.jsonl"
    timeline.write_text('{"at": "2026-03-02T10:00:00Z", "host": "www1", "state": "OK"}\nnot json\n')
    out = cli("simulate", "--config", str(EXAMPLES / "config"), str(timeline))
    assert out.returncode == 2
    assert "2" in out.stderr  # the line number


def test_check_runs_one_real_plugin_now_and_exits_with_its_state() -> None:
    out = cli("check", "monitor", "disk", "--config", str(EXAMPLES / "config"))
    assert out.returncode in (0, 1, 2), out.stderr
    assert out.stdout.startswith(("DISK OK", "DISK WARNING", "DISK CRITICAL"))
    assert "/" in out.stdout


def test_check_of_a_host_without_its_own_check_pings_it_and_says_why() -> None:
    out = cli("check", "office-printer", "--config", str(EXAMPLES / "config"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("PING OK - 127.0.0.21: 0% packet loss")
    assert "(host office-printer names no check: settings.default_host_check, icmp)" in out.stdout


def test_check_of_an_unknown_service_suggests_the_right_name() -> None:
    out = cli("check", "monitor", "dsik", "--config", str(EXAMPLES / "config"))
    assert out.returncode == 3
    assert "did you mean 'disk'" in out.stdout


def test_status_of_an_empty_store_says_no_problems(tmp_path: Path) -> None:
    made = cli("db", "upgrade", "--data", str(tmp_path))
    assert made.returncode == 0, made.stderr
    out = cli("status", "--data", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "No problems" in out.stdout


def test_status_of_a_directory_without_a_store_is_an_error_and_makes_none(tmp_path: Path) -> None:
    typo = tmp_path / "var-lib-augenmas"
    out = cli("status", "--data", str(typo))
    assert out.returncode == 2
    assert "no augenmass database in" in out.stderr and "No problems" not in out.stdout
    assert not typo.exists()


def test_version() -> None:
    out = cli("version")
    assert out.returncode == 0 and out.stdout.startswith("augenmass ")


def test_probe_runs_a_builtin_check_once_plugin_style() -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        out = cli("probe", "tcp", "--host", "127.0.0.1", "--port", str(port), "--critical", "5")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("TCP OK - ") and "| time=" in out.stdout
    refused = cli("probe", "tcp", "--host", "127.0.0.1", "--port", str(port))
    assert refused.returncode == 2 and "refused" in refused.stdout
    assert cli("probe", "no-such-type").returncode == 3
