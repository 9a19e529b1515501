"""A pytest plugin (pyproject's addopts load it): augenmass's .pyc files, written once a run."""

from __future__ import annotations

import compileall
from pathlib import Path


def pytest_sessionstart() -> None:
    # Hundreds of tests start `augenmass` as a process (servers, the CLI). With
    # PYTHONDONTWRITEBYTECODE set (as on our machines) an editable install never gets .pyc
    # files, so each of those processes compiled all of augenmass's modules again (~0.3 s CPU).
    # Written here once (a no-op when current; reading them is allowed either way). Errors,
    # such as a read-only install, are the processes' old slow path, not a failure.
    import augenmass

    compileall.compile_dir(Path(augenmass.__file__).parent, quiet=2)
