"""A small disk for the disk-full tests: a tmpfs the test mounts (as root), and a filler."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def mount_small_disk(mount: Path, size: str) -> None:
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        reason = f"cannot mount a small tmpfs for the disk-full test: {done.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@contextmanager
def small_disk(mount: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` at `mount` for the test's life (skip or fail as mount_small_disk)."""
    mount_small_disk(mount, size)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Write until the file system says ENOSPC (unbuffered: a buffered file's close would try
    to flush the last chunk again and raise ENOSPC after the loop had caught it)."""
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as fh:
        try:
            for _ in range(100_000):  # bounded: 6 GB at most, far more than the small disk
                fh.write(chunk)
        except OSError:
            pass
