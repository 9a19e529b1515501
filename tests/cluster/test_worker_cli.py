"""`augenmass worker` as a command: bad options are refused with exit code 2; the password in
the NATS URL never reaches its log, also while it cannot connect; SIGTERM ends it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from natsserver import free_port

CMD = [sys.executable, "-m", "augenmass", "worker"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--nats", "http://127.0.0.1:4222"], "nats://HOST:PORT"),
        (["--nats", "nats://127.0.0.1:4222", "--zone", "dc.1"], "--zone"),
        (["--nats", "nats://127.0.0.1:4222", "--prefix", "a b"], "--prefix"),
    ],
    ids=["scheme", "zone", "prefix"],
)
def test_bad_options_are_refused(args: list[str], said: str) -> None:
    out = subprocess.run([*CMD, *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and said in out.stderr, out.stderr


def test_the_password_is_never_logged_and_sigterm_ends_the_worker(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    url = f"nats://worker-a:s3cret-pw-42@127.0.0.1:{free_port()}"  # nobody listens there
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [*CMD, "--nats", url, "--zone", "a"], stdout=out, stderr=out, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 30
        while "NATS unreachable" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        text = log.read_text()
        assert "NATS unreachable" in text and "ConnectionRefusedError" in text, text
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    assert "s3cret-pw-42" not in log.read_text()
