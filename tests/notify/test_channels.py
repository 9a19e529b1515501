"""Webhook (HMAC-signed JSON) and Apprise (json:// URL) against real local HTTP receivers."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web

from augenmass.notify import NotificationService
from augenmass.notify.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from augenmass.store import Store
from augenmass.store.notify_schema import notify_outbox
from notify.helpers import ManualClock, free_port, note, write_config


@dataclass
class Receiver:
    port: int
    status: int = 200
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver(free_port())

    async def handle(request: web.Request) -> web.Response:
        rec.requests.append((dict(request.headers), await request.read()))
        return web.Response(status=rec.status, text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", rec.port)
    await site.start()
    try:
        yield rec
    finally:
        await runner.cleanup()


def plan_with(tmp_path: Path, contacts: str, receiver: Receiver, extra: str = "") -> Any:
    from augenmass.config import load_config

    base = f"""
notifications:
  group_wait: 0s
  group_interval: 0s
  retry_initial: 1s
  permanent_attempts: 2
  webhooks:
    ops: {{url: "http://127.0.0.1:{receiver.port}/hook", secret: "s3cret"}}
contacts:
{contacts}
hosts:
  www1: {{address: 127.0.0.1}}
"""
    base = base.replace("{", "{{").replace("}", "}}")
    return load_config(write_config(tmp_path, 0, extra, base=base))


async def test_webhook_is_signed_json(tmp_path, store: Store, clock: ManualClock, receiver):
    plan = plan_with(tmp_path, "  ops-bot: {webhooks: [ops]}", receiver)
    svc = NotificationService(plan, store, clock)
    evil = 'CRITICAL "quoted" \r\n<b>x</b>'
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["ops-bot"], evil)])
    await svc.dispatcher.pass_once()
    [(headers, body)] = receiver.requests
    stamp = headers[TIMESTAMP_HEADER]
    expected = hmac.new(b"s3cret", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"
    doc = json.loads(body)
    [entry] = doc["notifications"]
    assert (entry["type"], entry["host"], entry["service"], entry["state"]) == (
        "PROBLEM",
        "www1",
        "website",
        "CRITICAL",
    )
    assert entry["output"] == evil  # JSON carries it exactly; escaping is the receiver's job
    assert doc["subject"] == "PROBLEM: www1/website is CRITICAL"
    assert (entry["began"], entry["confirmed"], entry["url"]) == (None, None, None)


async def test_webhook_carries_the_problem_times_and_the_page(tmp_path, store, clock, receiver):
    base_url = "settings: {base_url: 'https://monitor.example.org'}\n"
    plan = plan_with(tmp_path, "  ops-bot: {webhooks: [ops]}", receiver, base_url)
    svc = NotificationService(plan, store, clock)
    ev = note(clock.t, "www1", "disk /var", "PROBLEM", 2, ["ops-bot"])
    times = {"began": clock.t - 180, "confirmed": clock.t - 60}
    await svc.handle([dataclasses.replace(ev, data={**ev.data, **times})])
    await svc.dispatcher.pass_once()
    [(_, body)] = receiver.requests
    [entry] = json.loads(body)["notifications"]
    assert (entry["began"], entry["confirmed"]) == (clock.t - 180, clock.t - 60)
    assert entry["url"] == "https://monitor.example.org/service/www1/disk%20%2Fvar"


async def test_webhook_5xx_is_retried_and_4xx_fails(tmp_path, store, clock, receiver):
    plan = plan_with(tmp_path, "  ops-bot: {webhooks: [ops]}", receiver)
    svc = NotificationService(plan, store, clock)
    receiver.status = 503
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["ops-bot"])])
    await svc.dispatcher.pass_once()
    receiver.status = 200
    clock.t += 1
    await svc.dispatcher.pass_once()
    assert len(receiver.requests) == 2 and svc.stats.sent == 1
    receiver.status = 404
    await svc.handle([note(clock.t, "www1", "disk", "PROBLEM", 2, ["ops-bot"])])
    for _ in range(3):
        await svc.dispatcher.pass_once()
        clock.t += 10
    async with store.engine.connect() as conn:
        statuses = [r.status for r in await conn.execute(sa.select(notify_outbox))]
    assert statuses == ["sent", "failed"]


async def test_apprise_json_url(tmp_path, store, clock, receiver):
    url = f"json://127.0.0.1:{receiver.port}/apprise"
    plan = plan_with(tmp_path, f"  chat: {{apprise: ['{url}']}}", receiver)
    svc = NotificationService(plan, store, clock)
    await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["chat"], "HTTP 503")])
    await svc.dispatcher.pass_once()
    [(_, body)] = receiver.requests
    doc = json.loads(body)
    assert doc["title"] == "PROBLEM: www1/website is CRITICAL"
    assert "HTTP 503" in doc["message"]


async def test_webhook_says_what_is_behind_a_host_down_and_back(tmp_path, store, clock, receiver):
    hosts = (
        "  printer: {address: 127.0.0.1, parents: [www1]}\n"
        "  phone1: {address: 127.0.0.1, parents: [www1]}\n"
    )
    from augenmass.config import load_config

    plan_with(tmp_path, "  ops-bot: {webhooks: [ops]}", receiver)
    path = tmp_path / "augenmass.yaml"
    path.write_text(path.read_text() + hosts)  # `hosts:` is the file's last section
    plan = load_config(path)
    svc = NotificationService(plan, store, clock)
    for kind, state in (("PROBLEM", 1), ("RECOVERY", 0)):
        await svc.handle([note(clock.t, "www1", None, kind, state, ["ops-bot"])])
        clock.t += 61  # past the settle window a root cause's message may wait (60 s at most)
        await svc.dispatcher.pass_once()
        clock.t += 600
    problem, recovery = ([*json.loads(body)["notifications"]] for _, body in receiver.requests)
    assert (problem[0]["behind"], problem[0]["reachable"]) == (["printer", "phone1"], None)
    assert (recovery[0]["behind"], recovery[0]["reachable"]) == (["printer", "phone1"], 2)
    assert problem[0]["part_of"] == recovery[0]["part_of"] == []
