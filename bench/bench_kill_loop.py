"""Kill loop figures: kill -9 at random while fifty services flip; expected vs delivered.

    .venv/bin/python bench/bench_kill_loop.py [KILLS] [sqlite|postgres]

The real `augenmass run`, a real SMTP server on 127.0.0.1, SQLite or PostgreSQL
(postgresql://postgres@127.0.0.1:5432/test, a schema of its own). Bounded: KILLS (default 60)
kills, each after 0.2-1.5 s. The scenario and its checks are tests/support/killloop.py.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "support")]

import killloop  # noqa: E402
from pgschema import PG, run_sql  # noqa: E402

from notify.helpers import MailServer, free_port  # noqa: E402


def main() -> None:
    kills = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    kind = sys.argv[2] if len(sys.argv) > 2 else "sqlite"
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    store = f"{PG}?schema={schema}" if kind == "postgres" else None
    smtp = MailServer(free_port())
    smtp.accept()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            f = killloop.run(Path(tmp), smtp, kills=kills, store=store)
    finally:
        smtp.refuse()
        if store:
            asyncio.run(run_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    print(f"store={kind} kills={f.kills} seconds={f.seconds:.0f} flips={f.flips}")
    print(f"notifications decided={f.decided} outbox rows expected={f.decided * 2} rows={f.rows}")
    print(f"rows sent={f.sent_rows} mails received={f.mails} duplicates={f.duplicates}")
    print(f"problems={len(f.problems)}", *f.problems[:10], sep="\n  ")


if __name__ == "__main__":
    main()
