"""`augenmass worker` as a command: bad options are refused with exit code 2; the password in
the NATS URL never reaches its log, also while it cannot connect; SIGTERM ends it cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from natsserver import free_port

from .helpers import worker_until_unreachable

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
    url = f"nats://worker-a:s3cret-pw-42@127.0.0.1:{free_port()}"  # nobody listens there
    text = worker_until_unreachable(["--nats", url, "--zone", "a"], tmp_path / "worker.log")
    assert "ConnectionRefusedError" in text, text
    assert "s3cret-pw-42" not in text
