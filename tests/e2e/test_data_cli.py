"""`augenmass backup`, `restore` and `db` as an operator meets them when something is off."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from augenmass.store.database import head_revision

from .helpers import cli, free_port

ROOT = Path(__file__).resolve().parents[2]


def _store(data: Path) -> Path:
    out = cli("db", "upgrade", "--data", str(data))
    assert out.returncode == 0, out.stderr
    return data / "augenmass.db"


def test_a_server_refuses_a_database_newer_than_it_knows_and_exits_1(tmp_path: Path) -> None:
    db = _store(tmp_path / "data")
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = '0099'")
    con.commit()
    con.close()
    out = cli(
        "run",
        "--config",
        str(ROOT / "examples" / "config"),
        "--data",
        str(tmp_path / "data"),
        "--listen",
        f"127.0.0.1:{free_port()}",
    )
    assert out.returncode == 1
    said = out.stdout + out.stderr
    assert "schema revision 0099" in said and f"its newest is {head_revision()}" in said
    assert "not starting" in out.stderr and "Traceback" not in said  # one clear line, no trace
    con = sqlite3.connect(db)
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [("0099",)]
    con.close()


def test_backup_of_a_postgresql_store_names_the_pg_dump_command_without_the_password(
    tmp_path: Path,
) -> None:
    target = tmp_path / "pg.dump"
    url = "postgresql://mon:s3cret@db.example.org:5433/augenmass?schema=mon"
    out = cli("backup", str(target), "--store", url)
    assert out.returncode == 1
    assert (
        f"pg_dump --format=custom --schema=mon --file={target} "
        "'postgresql://mon@db.example.org:5433/augenmass'" in out.stderr
    )
    assert "s3cret" not in out.stdout + out.stderr
    assert not target.exists()
    out = cli("restore", str(target), "--store", url)
    assert out.returncode == 1 and "pg_restore" in out.stderr
    assert "s3cret" not in out.stdout + out.stderr


def test_restore_of_a_file_that_is_no_backup_changes_nothing(tmp_path: Path) -> None:
    db = _store(tmp_path / "data")
    before = db.read_bytes()
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 100)
    out = cli("restore", str(notes), "--data", str(tmp_path / "data"))
    assert out.returncode == 1
    assert "not an SQLite database" in out.stderr
    assert db.read_bytes() == before
    assert not list(db.parent.glob("*before-restore*"))


def test_backup_of_a_missing_store_says_where_it_looked(tmp_path: Path) -> None:
    out = cli("backup", str(tmp_path / "b.db"), "--data", str(tmp_path / "nothing"))
    assert out.returncode == 1
    assert f"no database at {tmp_path / 'nothing' / 'augenmass.db'}" in out.stderr
    assert not (tmp_path / "nothing").exists()
    assert not (tmp_path / "b.db").exists()


def test_db_status_of_a_data_directory_without_a_store_creates_nothing(tmp_path: Path) -> None:
    out = cli("db", "status", "--data", str(tmp_path / "nothing"))
    assert out.returncode == 0, out.stderr
    assert "current revision: none" in out.stdout
    assert f"head revision: {head_revision()}" in out.stdout
    assert not (tmp_path / "nothing").exists()
