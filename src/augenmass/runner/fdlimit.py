"""Process limits the server and its probe workers both raise at start-up."""

from __future__ import annotations

import contextlib
import resource


def raise_fd_limit() -> None:
    """Each running plugin holds three pipes and each probe a socket; 256 at once would exhaust
    a 1,024 soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
