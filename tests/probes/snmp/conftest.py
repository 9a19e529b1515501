"""A real SNMP agent for the SNMP probe tests: snmpsim serving tests/fixtures/snmp on a free
127.0.0.1 UDP port for the whole session (community = recording name; one SNMPv3 user).

snmpsim lives in its own venv (tests/probes/snmp/snmpsim_env.sh makes it). Without it the tests
skip with the reason; under CI=true they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from augenmass.probes.snmp.client import Credentials, SnmpClient, SnmpError, Target

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "snmp"
V3_USER, V3_AUTH, V3_PRIV = "augtest", "auth-secret-1", "priv-secret-1"


@dataclass(frozen=True)
class Agent:
    host: str
    port: int

    def options(self, community: str, **extra: object) -> dict[str, object]:
        return {"host": self.host, "port": self.port, "community": community, "retries": 0, **extra}

    def v3_options(self, context: str, **extra: object) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "version": "3",
            "user": V3_USER,
            "auth_protocol": "sha",
            "auth_key": V3_AUTH,
            "priv_protocol": "aes",
            "priv_key": V3_PRIV,
            "context": context,
            "retries": 0,
            **extra,
        }


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the SNMP tests must run)")
    pytest.skip(reason)


def _responder() -> Path | None:
    venv = Path(os.environ.get("SNMPSIM_VENV", ROOT / ".venv-snmpsim"))
    program = venv / "bin" / "snmpsim-command-responder"
    return program if program.exists() else None


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    async def probe() -> bool:
        client = SnmpClient()
        try:
            await client.get(
                Target("127.0.0.1", port, 0.3, 0), Credentials("2c", "xerox"), ["1.3.6.1.2.1.1.1.0"]
            )
            return True
        except SnmpError:
            return False
        finally:
            client.close()

    return asyncio.run(probe())


@pytest.fixture(scope="module")  # ends with its module: no child process outlives it
def snmp_agent() -> Iterator[Agent]:
    program = _responder()
    if program is None:
        _missing("snmpsim venv missing: run tests/probes/snmp/snmpsim_env.sh")
    assert program is not None
    # not pytest's tmp_path: that lives under a 0700 directory the dropped-to user cannot enter
    base = Path(tempfile.mkdtemp(prefix="augenmass-snmpsim-"))
    data, cache = base / "data", base / "cache"
    data.mkdir()
    cache.mkdir()
    for recording in FIXTURES.glob("*.snmprec"):
        shutil.copy(recording, data / recording.name)
    # snmpsim drops to nobody when started as root: it must read the data, write the cache
    for path in (base, data, *data.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    cache.chmod(0o777)
    port = _free_udp_port()
    argv = [str(program), f"--cache-dir={cache}"]
    if os.geteuid() == 0:
        argv += ["--process-user=nobody", "--process-group=nogroup"]
    # engine options must follow --v3-engine-id, or snmpsim starts a second engine without them
    argv += [
        "--v3-engine-id=auto",
        f"--data-dir={data}",
        f"--v3-user={V3_USER}",
        f"--v3-auth-key={V3_AUTH}",
        "--v3-auth-proto=SHA",
        f"--v3-priv-key={V3_PRIV}",
        "--v3-priv-proto=AES",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
    ]
    log = (base / "snmpsim.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (base / "snmpsim.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"snmpsim did not start answering on port {port}:\n{tail}")
            time.sleep(0.2)
        yield Agent("127.0.0.1", port)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        log.close()
        shutil.rmtree(base, ignore_errors=True)
