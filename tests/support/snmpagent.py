"""snmpsim serving the recordings of tests/fixtures/snmp (community = recording name), as a
process of the test: started until it answers, stopped with its process group.

snmpsim lives in its own venv (tests/probes/snmp/snmpsim_env.sh makes it; SNMPSIM_VENV names
it). Without it the tests skip with the reason; under CI=true they fail instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "snmp"
V3_USER, V3_AUTH, V3_PRIV = "augtest", "auth-secret-1", "priv-secret-1"


def missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the SNMP tests must run)")
    pytest.skip(reason)


def responder() -> Path | None:
    venv = Path(os.environ.get("SNMPSIM_VENV", ROOT / ".venv-snmpsim"))
    program = venv / "bin" / "snmpsim-command-responder"
    return program if program.exists() else None


@contextmanager
def snmpsim(
    endpoints: Sequence[str],
    answers: Callable[[], bool],
    prefix: Sequence[str] = (),
) -> Iterator[None]:
    """Serve every recording on each `host:port` endpoint until `answers()` says it does;
    `prefix`: run it through this (e.g. `ip netns exec NAME`)."""
    program = responder()
    if program is None:
        missing("snmpsim venv missing: run tests/probes/snmp/snmpsim_env.sh")
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
    argv = [*prefix, str(program), f"--cache-dir={cache}"]
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
        *(f"--agent-udpv4-endpoint={e}" for e in endpoints),
    ]
    log = (base / "snmpsim.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not answers():
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (base / "snmpsim.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"snmpsim did not start answering on {endpoints}:\n{tail}")
            time.sleep(0.2)
        yield
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
