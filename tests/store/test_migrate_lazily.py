"""A store already at the newest schema opens without importing alembic (memory: about 11 MB
for as long as the server runs); one that is behind is still migrated by alembic."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from augenmass.store.database import alembic_config, head_revision, known_revisions, shipped_head

OPEN_TWICE = """
import asyncio, sys
from augenmass.store import open_store

async def main(url):
    store = await open_store(url)
    await store.close()

asyncio.run(main(sys.argv[1]))
print("alembic" in sys.modules)
"""


def test_the_shipped_head_read_from_the_scripts_is_alembics() -> None:
    assert shipped_head() == head_revision()


def opened(url: str) -> bool:
    """Open the store in a fresh process; True when that imported alembic."""
    out = subprocess.run(
        [sys.executable, "-c", OPEN_TWICE, url], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip() == "True"


def test_alembic_runs_only_when_there_is_something_to_migrate(tmp_path: Path) -> None:
    db = tmp_path / "augenmass.db"
    url = f"sqlite:///{db}"
    # a database of an older release: made at the revision before the head
    behind = known_revisions()[-2]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), behind)
    engine.dispose()
    assert opened(url)  # behind: alembic upgrades it
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchone() == (
            head_revision(),
        )
    assert not opened(url)  # at the head: read, not migrated
    assert opened(f"sqlite:///{tmp_path / 'new.db'}")  # an empty database: alembic makes it
