"""The handling sidecar: acks and downtimes as a small JSON file next to an SQLite store.

It is the fallback when the database file is unreadable at start-up: acknowledgements and
downtimes are operator decisions that must never silently vanish (reliability.md §39).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from augenmass.core.datadir import sidecar_path as sidecar_path  # where it lives: core
from augenmass.core.values import Acknowledgement, CheckKey, Downtime, from_jsonable, to_jsonable

log = logging.getLogger("augenmass.store")

FORMAT_VERSION = 1


def write_sidecar(
    path: Path, acks: Mapping[CheckKey, Acknowledgement], downtimes: Mapping[str, Downtime]
) -> None:
    """Atomically replace `path`: write tmp, fsync, rename, fsync the directory."""
    doc = {
        "version": FORMAT_VERSION,
        "acks": {str(k): to_jsonable(a) for k, a in sorted(acks.items())},
        "downtimes": {i: to_jsonable(d) for i, d in sorted(downtimes.items())},
    }
    data = json.dumps(doc, ensure_ascii=True, indent=1).encode("ascii")
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_sidecar(path: Path) -> tuple[dict[CheckKey, Acknowledgement], dict[str, Downtime]]:
    """Acks and downtimes from the sidecar; empty (with a logged error) when it is unusable."""
    try:
        doc: Any = json.loads(path.read_bytes())
        acks = {
            CheckKey.parse(k): from_jsonable(Acknowledgement, v) for k, v in doc["acks"].items()
        }
        downtimes = {i: from_jsonable(Downtime, v) for i, v in doc["downtimes"].items()}
    except FileNotFoundError:
        log.error("no handling sidecar %s: acknowledgements and downtimes are lost", path)
        return {}, {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.error("handling sidecar %s is unreadable (%s): acks and downtimes are lost", path, exc)
        return {}, {}
    return acks, downtimes
