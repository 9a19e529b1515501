"""kill -9 the real server again and again while fifty services flip: what must hold.

Used by tests/notify/test_kill_loop.py (the assertions) and bench/bench_kill_loop.py (the
figures). Every notification the engine decided and committed (an event row) has its outbox
rows in the same transaction; every row ends `sent` under a Message-ID the SMTP server received,
in a mail that names its check; a Message-ID never carries two contents.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e.helpers import ServerProcess, wait_for
from notify.helpers import MailServer

FLIP = """#!/bin/sh
# CRITICAL and OK in turn, each service on its own phase (OK for good once told to stop)
if [ -e "$(dirname "$0")/stop" ]; then echo "OK - steady"; exit 0; fi
if [ $(( ($(date +%s) + $1) / 2 % 2 )) -eq 0 ]; then echo "OK - fine"; exit 0; fi
echo "CRITICAL - flipped"; exit 2
"""

CONTACTS = ("alice", "bob")


def config(port: int, plugin: Path, services: int) -> str:
    lines = "\n".join(
        f"  - {{name: svc-{n:02d}, host: app, check: {{type: plugin, command: [{plugin}, '{n}']}}}}"
        for n in range(services)
    )
    return f"""
settings: {{max_check_spread: 1s}}
defaults: {{check_interval: 1s, retry_interval: 1s, max_check_attempts: 1, contacts: [alice, bob]}}
notifications:
  smtp: {{host: 127.0.0.1, port: {port}, from: monitor@example.org, timeout: 3s}}
  group_wait: 0s
  group_interval: 0s
  retry_initial: 200ms
  retry_max: 1s
contacts:
  alice: {{email: alice@example.org}}
  bob: {{email: bob@example.org}}
hosts:
  app: {{address: 127.0.0.1}}
services:
{lines}
"""


@dataclass
class Figures:
    kills: int = 0
    seconds: float = 0.0
    flips: int = 0  # state changes committed
    decided: int = 0  # notification events committed
    rows: int = 0  # outbox rows (decided x contacts)
    sent_rows: int = 0
    mails: int = 0  # messages the SMTP server received
    duplicates: int = 0  # messages received more than once (same Message-ID)
    problems: list[str] = field(default_factory=list)


def run(
    tmp_path: Path,
    smtp: MailServer,
    kills: int,
    services: int = 50,
    store: str | None = None,
    seed: int = 12,
) -> Figures:
    rng = random.Random(seed)
    tmp_path.mkdir(parents=True, exist_ok=True)
    plugin = tmp_path / "flip.sh"
    plugin.write_text(FLIP)
    plugin.chmod(0o755)
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(config(smtp.port, plugin, services))
    server = ServerProcess(cfg, tmp_path / "data", store=store)
    figures = Figures()
    began = time.monotonic()
    try:
        server.start()
        for _ in range(kills):
            time.sleep(rng.uniform(0.2, 1.5))  # anywhere in the life of a batch
            server.kill9()
            figures.kills += 1
            server.start()
        (tmp_path / "stop").touch()
        wait_for(lambda: settled(server, services), 60, "every service OK again")
        wait_for(lambda: outbox(server)[0] == 0, 60, "the outbox to empty")
    finally:
        server.stop()
    figures.seconds = time.monotonic() - began
    check(server, smtp, figures)
    return figures


def settled(server: ServerProcess, services: int) -> bool:
    rows = server.status()
    return all(rows.get(f"app/svc-{n:02d}", {}).get("state") == "OK" for n in range(services))


def _query(server: ServerProcess, sql: str) -> list[Any]:
    from augenmass.store import open_store

    async def read() -> list[Any]:
        store = await open_store(server.store or f"sqlite:///{server.data / 'augenmass.db'}")
        try:
            async with store.engine.connect() as conn:
                return list(await conn.exec_driver_sql(sql))
        finally:
            await store.close()

    return asyncio.run(read())


def outbox(server: ServerProcess) -> tuple[int, list[Any]]:
    rows = _query(server, "SELECT status, message_id, host, service, type FROM notify_outbox")
    return sum(1 for r in rows if r[0] == "pending"), rows


def check(server: ServerProcess, smtp: MailServer, figures: Figures) -> None:
    events = _query(server, "SELECT kind, service FROM event")
    figures.flips = sum(1 for kind, _ in events if kind == "state")
    figures.decided = sum(1 for kind, _ in events if kind == "notification")
    _, rows = outbox(server)
    figures.rows = len(rows)
    figures.sent_rows = sum(1 for r in rows if r[0] == "sent")
    received = smtp.received()
    figures.mails = len(received)
    texts: dict[str, set[str]] = {}
    for mail in received:
        texts.setdefault(str(mail.message["Message-ID"]), set()).add(mail.subject + mail.text)
    counts = Counter(str(m.message["Message-ID"]) for m in received)
    figures.duplicates = sum(n - 1 for n in counts.values())
    p = figures.problems
    if figures.rows != figures.decided * len(CONTACTS):
        p.append(f"{figures.decided} notifications decided but {figures.rows} outbox rows")
    if figures.sent_rows != figures.rows:
        p.append(f"{figures.rows - figures.sent_rows} outbox rows not sent")
    p += [f"{mid} carried {len(t)} contents" for mid, t in texts.items() if len(t) > 1]
    for _status, mid, host, service, kind in rows:
        body = next(iter(texts.get(mid, ())), None)
        if body is None:
            p.append(f"{kind} of {host}/{service}: its mail {mid} never arrived")
        elif f"{host}/{service} is" not in body:
            p.append(f"{kind} of {host}/{service}: not in its mail {mid}")
