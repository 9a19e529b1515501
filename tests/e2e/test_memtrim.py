"""Free memory the C allocator kept goes back to the system (the server does this once a
minute): a process that freed most of what it allocated, in pieces between kept ones, shrinks
when it trims."""

from __future__ import annotations

import subprocess
import sys

import pytest

from augenmass.server import memtrim

FRAGMENTED = """
import sys
from augenmass.server import memtrim

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

# 2 KB blocks (past Python's small-object allocator: glibc's), 150 MB of them, then all but
# every 64th freed: the kept ones pin the heap's end, so free() alone returns nothing
blocks = [bytes(2048) for _ in range(75_000)]
kept = blocks[::64]
del blocks
before = rss()
returned = memtrim.trim()
print(before, rss(), returned)
"""


@pytest.mark.skipif(not memtrim.available(), reason="no glibc malloc_trim on this system")
def test_trimming_gives_freed_memory_back() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FRAGMENTED], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    before, after, returned = float(out[0]), float(out[1]), out[2]
    assert returned == "True"
    assert after < before - 50, (before, after)
