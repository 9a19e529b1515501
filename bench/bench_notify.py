"""Notification storm: 1,000 services go CRITICAL at once, 20 contacts get every one.

A real Server in-process (scheduler, runner, engine, SQLite store, NotificationService) with
built-in dummy checks, and a real SMTP server (aiosmtpd) on 127.0.0.1. Measured: the time from
the first notification written to the outbox until the SMTP server has accepted every
notification (grouped: one or a few messages per contact), nothing lost (every outbox row sent,
every service in a mail to every contact), and the scheduler's start lateness of 1,000 other
services checked every second, compared with a run where no notification is delivered.

Usage: python bench/bench_notify.py [--services 1000] [--contacts 20] [--load 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import multiprocessing
import re
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from augenmass.server.server import Server
from augenmass.store.notify_schema import notify_outbox

LIMIT = 60.0  # every wait is bounded


class Sink:
    """Runs in its own process (see `serve_smtp`), so parsing mail does not share the server's
    GIL; one JSON line per accepted message goes to `out`."""

    def __init__(self, out: Path) -> None:
        self.out = out

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(("plain",))
        text = body.get_content() if body is not None else ""  # type: ignore[attr-defined]
        checks = sorted(set(re.findall(r"^PROBLEM: (\S+) is CRITICAL", text, re.M)))
        line = {"at": time.monotonic(), "rcpt": envelope.rcpt_tos[0], "checks": checks}
        with self.out.open("a") as f:
            f.write(json.dumps(line) + "\n")
        return "250 OK"


def serve_smtp(port: int, out: str, stop: Any) -> None:
    controller = Controller(Sink(Path(out)), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait(LIMIT * 3)
    controller.stop()


class Mails:
    def __init__(self, out: Path) -> None:
        self.out = out

    def read(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [json.loads(x) for x in self.out.read_text().splitlines() if x.endswith("}")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(port: int, services: int, contacts: int, load: int, deliver: bool) -> str:
    lines = ["settings: {max_check_spread: 1s, self_metrics_interval: 1h}"]
    if deliver:
        lines += [
            "notifications:",
            f"  smtp: {{host: 127.0.0.1, port: {port}, from: bench@example.org}}",
            "  group_wait: 1s",
            "  group_interval: 5s",
        ]
    lines.append("contacts:")
    lines += [f"  c{i}: {{email: c{i}@example.org}}" for i in range(contacts)]
    lines.append(f"contact_groups: {{everyone: [{', '.join(f'c{i}' for i in range(contacts))}]}}")
    lines.append("hosts:")
    lines += [f"  h{i}: {{address: 127.0.0.1}}" for i in range(50)]
    lines.append("services:")
    for i in range(services):
        lines.append(
            f"  - {{name: s{i}, host: h{i % 50}, check_interval: 1h, max_check_attempts: 1,"
            " notification_interval: 0, notify: [everyone],"
            " check: {type: dummy, state: critical, output: disk full}}"
        )
    for i in range(load):
        lines.append(
            f"  - {{name: load{i}, host: h{i % 50}, check_interval: 1s, check: {{type: dummy}}}}"
        )
    return "\n".join(lines) + "\n"


async def outbox_counts(server: Server) -> dict[str, int]:
    o = notify_outbox.c
    async with server.store.engine.connect() as conn:
        rows = await conn.execute(sa.select(o.status, sa.func.count()).group_by(o.status))
        return {str(s): int(n) for s, n in rows}


async def run(args: argparse.Namespace, deliver: bool) -> dict[str, Any]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mails.jsonl"
        stop = multiprocessing.Event()
        smtp = multiprocessing.Process(target=serve_smtp, args=(port, str(out), stop))
        smtp.start()
        await asyncio.sleep(1.0)  # the listener is up
        cfg = Path(tmp) / "augenmass.yaml"
        cfg.write_text(config(port, args.services, args.contacts, args.load, deliver))
        server = Server(cfg, Path(tmp) / "data")
        await server.start()
        server.scheduler.pop_lateness_samples()
        try:
            expected = args.services * args.contacts
            first: float | None = None
            done: float | None = None
            deadline = time.monotonic() + LIMIT
            while time.monotonic() < deadline:
                counts = await outbox_counts(server)
                total = sum(counts.values())
                if first is None and total:
                    first = time.monotonic()
                if not deliver and server.engine and _hard_problems(server) >= args.services:
                    await asyncio.sleep(10)
                    break
                if deliver and counts.get("sent", 0) >= expected:
                    done = time.monotonic()
                    await asyncio.sleep(5)  # keep measuring lateness a little after the storm
                    break
                await asyncio.sleep(0.05)
            samples = sorted(server.scheduler.pop_lateness_samples())
            counts = await outbox_counts(server)
        finally:
            await server.stop()
            stop.set()
            smtp.join(10)
        mails = Mails(out).read()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] if samples else 0.0
    result: dict[str, Any] = {
        "lateness_p50": statistics.median(samples) if samples else 0.0,
        "lateness_p99": p99,
        "lateness_max": samples[-1] if samples else 0.0,
        "checks": len(samples),
    }
    if deliver:
        last_mail = max((m["at"] for m in mails), default=None)
        covered: dict[str, set[str]] = {}
        for m in mails:
            covered.setdefault(m["rcpt"], set()).update(m["checks"])
        complete = all(
            len(covered.get(f"c{i}@example.org", ())) == args.services for i in range(args.contacts)
        )
        result.update(
            rows=counts,
            mails=len(mails),
            all_accepted_s=(last_mail - first) if (last_mail and first) else None,
            all_marked_sent_s=(done - first) if (done and first) else None,
            every_service_in_every_contacts_mail=complete,
        )
    return result


def _hard_problems(server: Server) -> int:
    return sum(1 for st in server.engine.states.values() if st.state == 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=20)
    parser.add_argument("--load", type=int, default=1000)
    parser.add_argument("--only", choices=("baseline", "storm"), default=None)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if args.only != "storm":
        print("baseline (no delivery):", asyncio.run(run(args, deliver=False)), flush=True)
    if args.only != "baseline":
        print("storm:", asyncio.run(run(args, deliver=True)), flush=True)


if __name__ == "__main__":
    main()
