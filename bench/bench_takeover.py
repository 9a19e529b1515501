"""Active/standby takeover time: kill -9 of the active server, ROUNDS times.

    .venv/bin/python bench/bench_takeover.py [ROUNDS] [TTL RENEW]

Three real `augenmass run` processes (own data directories, ports and --node names) on one
PostgreSQL schema (postgresql://postgres@127.0.0.1:5432/test), four plugin services flipping
CRITICAL/OK every 2 s, a real SMTP server on 127.0.0.1. Each round waits 0.2-1.5 s, kills the
active server with SIGKILL (its process group) and starts it again at once; "takeover" is the
time until another server answers /api/health as active with a new fencing token, "first check"
until that server has completed a check. Then the flips stop, the outbox empties, and the mails
are checked as in tests/support/killloop.py. Bounded: ROUNDS (default 20) rounds, each waiting
at most 30 s. TTL RENEW: the lease in seconds (default 10 3, the shipped defaults).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "support")]

import killloop  # noqa: E402
from pgschema import PG, run_sql  # noqa: E402

from cluster_ha.pair import active_of, kill_loop, make_pair  # noqa: E402
from e2e.helpers import wait_for  # noqa: E402
from notify.helpers import MailServer, free_port  # noqa: E402

SERVICES = 4


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    ttl, renew = (float(sys.argv[2]), float(sys.argv[3])) if len(sys.argv) > 3 else (10.0, 3.0)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    store = f"{PG}?schema={schema}"
    smtp = MailServer(free_port())
    smtp.accept()
    rng = random.Random(18)
    began = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            plugin = tmp / "flip.sh"
            plugin.write_text(killloop.FLIP)
            plugin.chmod(0o755)
            cfg = tmp / "augenmass.yaml"
            lease = f"cluster:\n  lease: {{ttl: {ttl}s, renew: {renew}s}}\n"
            cfg.write_text(killloop.config(smtp.port, plugin, SERVICES) + lease)
            servers = make_pair(tmp, cfg, store, ("a", "b", "c"))
            try:
                servers[0].start()
                active_of(servers[:1])
                servers[1].start()
                servers[2].start()
                waits = [rng.uniform(0.2, 1.5) for _ in range(rounds)]
                t = kill_loop(servers, rounds, waits)
                (tmp / "stop").touch()
                wait_for(lambda: killloop.settled(servers[0], SERVICES), 120, "all OK again")
                wait_for(lambda: killloop.outbox(servers[0])[0] == 0, 120, "the outbox to empty")
            finally:
                for server in servers:
                    server.stop()
            f = killloop.Figures()
            killloop.check(servers[0], smtp, f)
    finally:
        smtp.refuse()
        asyncio.run(run_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    print(f"lease ttl={ttl}s renew={renew}s rounds={rounds} run={time.monotonic() - began:.0f}s")
    print(
        f"takeover median={statistics.median(t.seconds):.2f}s max={max(t.seconds):.2f}s"
        f" min={min(t.seconds):.2f}s"
    )
    print(
        f"first check median={statistics.median(t.first_check):.2f}s max={max(t.first_check):.2f}s"
    )
    print(f"notifications decided={f.decided} rows={f.rows} sent={f.sent_rows} mails={f.mails}")
    print(f"duplicates={f.duplicates} (same Message-ID, same content) problems={len(f.problems)}")
    print(*f.problems[:10], sep="\n  ")


if __name__ == "__main__":
    main()
