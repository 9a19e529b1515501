"""Passive results the ways admins already send them, against a real server process: the curl
lines of Icinga 2's documentation (only URL and credentials changed), `augenmass submit`,
Nagios command lines in the spool, ping URLs and a dead-man check that goes CRITICAL."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.helpers import CLI, ServerProcess, cli, wait_for

PING_KEY = "cron-backup-0123456789abcdefXYZ"
CONFIG = """
settings: {max_check_spread: 100ms, timezone: Europe/Berlin}
hosts:
  example.localdomain:
    address: 127.0.0.1
    passive_checks: true
    check_interval: 1h
    check: {type: dummy, state: ok, output: "PING OK"}
  active.localdomain: {address: 127.0.0.1}
services:
  - {name: passive-ping, host: example.localdomain, active_checks: false, max_check_attempts: 1,
     check: {type: dummy}}
  - {name: passive-ping6, host: example.localdomain, active_checks: false,
     max_check_attempts: 1, check: {type: dummy}}
  - {name: disk, host: active.localdomain, check_interval: 1h, check: {type: dummy, state: ok}}
  - {name: backup, host: example.localdomain, expect_every: 1h, ping_key: "${BACKUP_PING_KEY}"}
  - {name: heartbeat, host: example.localdomain, expect_every: 2s}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    tmp = tmp_path_factory.mktemp("passive")
    cfg = tmp / "augenmass.yaml"
    cfg.write_text(CONFIG)
    os.environ["BACKUP_PING_KEY"] = PING_KEY  # the server process inherits it
    srv = ServerProcess(cfg, tmp / "data")
    token = cli(
        "token", "create", "sender", "--scope", "submit", "--data", str(srv.data), check=True
    )
    srv.start()
    try:
        yield srv, token.stdout.strip()
    finally:
        srv.stop()
        os.environ.pop("BACKUP_PING_KEY", None)


def curl(*args: str) -> tuple[int, dict[str, Any] | str]:
    """Run curl with -i; returns the HTTP status and the (JSON) body."""
    out = subprocess.run(["curl", *args], capture_output=True, text=True, timeout=30, check=True)
    head, _, body = out.stdout.partition("\n\n")
    while head.startswith("HTTP/1.1 100"):  # curl shows an interim "100 Continue" too
        head, _, body = body.partition("\n\n")
    status = int(head.split()[1])
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def state(srv: ServerProcess, name: str) -> dict[str, Any]:
    return srv.status()[name]


def test_icinga_docs_curl_lines(server: tuple[ServerProcess, str]) -> None:
    srv, token = server
    base = f"http://127.0.0.1:{srv.port}"
    # From Icinga 2's docs (12-icinga2-api.md, process-check-result); -k https and root:icinga
    # replaced by this server's URL and a token named "sender".
    status, body = curl(
        "-k", "-s", "-S", "-i", "-u", f"sender:{token}", "-H", "Accept: application/json",
        "-X", "POST", f"{base}/v1/actions/process-check-result",
        "-d", '{ "type": "Service", "filter": "host.name==\\"example.localdomain\\" && '
        'service.name==\\"passive-ping\\"", "exit_status": 2, "plugin_output": '
        '"PING CRITICAL - Packet loss = 100%", "performance_data": [ '
        '"rta=5000.000000ms;3000.000000;5000.000000;0.000000", "pl=100%;80;100;0" ], '
        '"check_source": "example.localdomain", "pretty": true }',
    )  # fmt: skip
    assert status == 200, body
    assert body == {
        "results": [
            {
                "code": 200.0,
                "status": "Successfully processed check result for object"
                " 'example.localdomain!passive-ping'.",
            }
        ]
    }
    row = state(srv, "example.localdomain/passive-ping")
    assert (row["state"], row["output"]) == ("CRITICAL", "PING CRITICAL - Packet loss = 100%")

    status, body = curl(
        "-k", "-s", "-S", "-i", "-u", f"sender:{token}", "-H", "Accept: application/json",
        "-X", "POST",
        f"{base}/v1/actions/process-check-result?service=example.localdomain!passive-ping6",
        "-d", '{ "exit_status": 1, "plugin_output": "PING WARNING - Packet loss = 50%", '
        '"performance_data": "rta=50ms;30;50;0 pl=50%;40;100;0", '
        '"check_source": "example.localdomain" }',
    )  # fmt: skip
    assert status == 200, body
    assert state(srv, "example.localdomain/passive-ping6")["state"] == "WARNING"

    # The host form, with single quotes in the filter and a bearer token instead
    status, body = curl(
        "-s", "-S", "-i", "-H", f"Authorization: Bearer {token}",
        "-X", "POST", f"{base}/v1/actions/process-check-result",
        "-d", '{ "type": "Host", "filter": "host.name==\'example.localdomain\'", '
        '"exit_status": 1, "plugin_output": "Host is not available." }',
    )  # fmt: skip
    assert status == 200, body
    assert body["results"][0]["status"].endswith("object 'example.localdomain'.")  # type: ignore[index]
    assert state(srv, "example.localdomain")["state"] == "DOWN"


@pytest.mark.parametrize(
    ("body", "query", "status", "text"),
    [
        ('{"type": "Service", "filter": "host.name==\\"nope\\" && service.name==\\"x\\"", '
         '"exit_status": 0, "plugin_output": "x"}', "", 404, "No objects found."),
        ('{"type": "Service", "filter": "match(\\"ex*\\", host.name)", "exit_status": 0, '
         '"plugin_output": "x"}', "", 400, "unsupported filter"),
        ('{"type": "Service", "filter": "host.name==\\"active.localdomain\\" && '
         'service.name==\\"disk\\"", "exit_status": 0, "plugin_output": "all fine"}', "", 409,
         "checked actively"),
        ('{"exit_status": 0, "plugin_output": "x", "execution_start": 1}',
         "?service=example.localdomain!passive-ping", 422, "passive_max_age"),
        ('{"exit_status": 0, "plugin_output": "x", "surprise": 1}',
         "?service=example.localdomain!passive-ping", 400, "surprise"),
        ('{"exit_status": 0, "plugin_output": ', "?host=example.localdomain", 400, "not JSON"),
    ],
)  # fmt: skip
def test_icinga_errors_say_why_and_change_nothing(
    server: tuple[ServerProcess, str], body: str, query: str, status: int, text: str
) -> None:
    srv, token = server
    before = state(srv, "active.localdomain/disk")
    url = f"http://127.0.0.1:{srv.port}/v1/actions/process-check-result{query}"
    got, answer = curl("-s", "-i", "-u", f"sender:{token}", "-X", "POST", url, "-d", body)
    assert got == status, answer
    assert isinstance(answer, dict) and answer["error"] == status
    assert text in answer["status"]
    assert state(srv, "active.localdomain/disk") == before


def test_icinga_wrong_credentials_are_401(server: tuple[ServerProcess, str]) -> None:
    srv, token = server
    url = f"http://127.0.0.1:{srv.port}/v1/actions/process-check-result?host=example.localdomain"
    body = '{"exit_status": 0, "plugin_output": "x"}'
    for user in (f"root:{token}", "sender:icinga"):  # wrong name, wrong password
        got, answer = curl("-s", "-i", "-u", user, "-X", "POST", url, "-d", body)
        assert got == 401 and answer == {
            "error": 401,
            "status": "Unauthorized. Please check your user credentials.",
        }


def _submit(srv: ServerProcess, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUGENMASS_URL": f"http://127.0.0.1:{srv.port}", "AUGENMASS_TOKEN": token}
    return subprocess.run(
        [*CLI, "submit", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_submit_command_exit_codes(server: tuple[ServerProcess, str], tmp_path: Path) -> None:
    srv, token = server
    done = _submit(
        srv, token, "example.localdomain", "passive-ping", "--state", "OK",
        "--output", "PING OK - rta 1ms", "--perfdata", "rta=1ms;3000;5000;0",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert state(srv, "example.localdomain/passive-ping")["state"] == "OK"
    refused = _submit(srv, token, "active.localdomain", "disk", "--state", "CRITICAL")
    assert refused.returncode == 1
    assert "checked actively" in refused.stderr
    unknown = _submit(srv, token, "nope", "--state", "DOWN")
    assert unknown.returncode == 1 and "not in the configuration" in unknown.stderr
    usage = _submit(srv, token, "example.localdomain", "passive-ping", "--state", "BAD")
    assert usage.returncode == 2
    wrong = _submit(srv, "am_wrong", "example.localdomain", "passive-ping", "--state", "OK")
    assert wrong.returncode == 1 and "401" in wrong.stderr
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    env = {**os.environ, "AUGENMASS_URL": f"http://127.0.0.1:{srv.port}"}
    env.pop("AUGENMASS_TOKEN", None)
    by_file = subprocess.run(
        [*CLI, "submit", "example.localdomain", "passive-ping", "--state", "2",
         "--token-file", str(token_file), "-o", "from a file token"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert by_file.returncode == 0, by_file.stderr
    assert state(srv, "example.localdomain/passive-ping")["output"] == "from a file token"


def test_nagios_command_lines_in_the_spool(server: tuple[ServerProcess, str]) -> None:
    srv, _ = server
    now = int(time.time())
    spool = srv.data / "commands"
    (spool / ".nagios.cmd").write_text(
        f"[{now}] PROCESS_SERVICE_CHECK_RESULT;example.localdomain;passive-ping6;2;"
        "DISK CRITICAL - 95% used; really|used=95%;80;90\n"
        f"[{now}] ACKNOWLEDGE_SVC_PROBLEM;example.localdomain;passive-ping6;1;1;1;ada;x\n"
        f"[{now}] PROCESS_SERVICE_CHECK_RESULT;active.localdomain;disk;2;silenced?\n"
    )
    (spool / ".nagios.cmd").rename(spool / "nagios.cmd")  # as a script should: write, then mv
    wait_for(lambda: not (spool / "nagios.cmd").exists(), 20, "the command file to be read")
    row = state(srv, "example.localdomain/passive-ping6")
    assert (row["state"], row["output"]) == ("CRITICAL", "DISK CRITICAL - 95% used; really")
    assert state(srv, "active.localdomain/disk")["state"] == "OK"
    log = srv.log.read_text()
    assert "ACKNOWLEDGE_SVC_PROBLEM" in log and "unknown or unsupported command" in log
    assert "checked actively" in log

    out = cli(
        "command", f"[{now}] PROCESS_HOST_CHECK_RESULT;example.localdomain;0;back up",
        "--data", str(srv.data),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    wait_for(lambda: state(srv, "example.localdomain")["state"] == "UP", 20, "the host UP")
    bad = cli("command", "PROCESS_SERVICE_CHECK_RESULT;x", "--data", str(srv.data))
    assert bad.returncode == 2 and "expected [EPOCH] COMMAND;ARGS" in bad.stderr


def test_ping_urls_and_the_dead_man(server: tuple[ServerProcess, str]) -> None:
    srv, _ = server
    base = f"http://127.0.0.1:{srv.port}/ping/{PING_KEY}"
    # never a result: the 2 s heartbeat goes CRITICAL on its own
    row = wait_for(
        lambda: (r := state(srv, "example.localdomain/heartbeat"))["state"] == "CRITICAL" and r,
        30,
        "the dead-man heartbeat to go CRITICAL",
    )
    assert row["output"].startswith("no result since ") and "(expected every 2s)" in row["output"]
    assert row["output"].split(" (")[0][-4:] in (" CET", "CEST")

    assert curl("-fsS", "-i", f"{base}/start")[0] == 200
    time.sleep(0.2)
    status, text = curl("-fsS", "-i", "--data-binary", "backup of 3 GB done\x07", base)
    assert (status, text) == (200, "OK\n")
    row = state(srv, "example.localdomain/backup")
    assert (row["state"], row["output"]) == ("OK", "backup of 3 GB done")
    # the run time, from /start to the ping, as performance data
    points = wait_for(
        lambda: srv.series("example.localdomain", "backup", "duration"), 20, "the duration point"
    )
    assert 0.2 <= points[0][1] < 30
    assert curl("-sS", "-i", f"{base}/fail")[0] == 200
    assert state(srv, "example.localdomain/backup")["state"] == "CRITICAL"

    # unknown keys: 404, the same answer for a near miss as for nonsense
    assert curl("-sS", "-i", base[:-1] + "Q")[1] == "not found\n"
    assert curl("-sS", "-i", f"http://127.0.0.1:{srv.port}/ping/x")[1] == "not found\n"
    # a loop cannot flood the store
    codes = [curl("-sS", "-i", base)[0] for _ in range(12)]
    assert 429 in codes
    assert PING_KEY not in srv.log.read_text()
