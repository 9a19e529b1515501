"""Persistence: states, downtimes, history, last results and perfdata (SQLite or PostgreSQL)."""

from __future__ import annotations

from augenmass.store import (
    auth_schema,  # noqa: F401  (its tables join the metadata)
    cluster_schema,  # noqa: F401  (its tables join the metadata)
    notify_schema,  # noqa: F401  (its tables join the metadata)
)
from augenmass.store.batch import Snapshot, WriteBatch
from augenmass.store.perf import RollupReport
from augenmass.store.store import Store, open_store
from augenmass.store.writer import StoreWriter, WriterStats

__all__ = [
    "RollupReport",
    "Snapshot",
    "Store",
    "StoreWriter",
    "WriteBatch",
    "WriterStats",
    "open_store",
]
