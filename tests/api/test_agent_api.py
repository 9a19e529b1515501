"""The agent API on a real Server: checks by agent with an ETag, batches taken once and in
measurement order, tokens bound to one agent, bad batches refused whole with a clear status."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from augenmass.api import accounts
from augenmass.core.values import CheckKey
from augenmass.server.control import Control
from augenmass.server.server import Server
from augenmass.web.site import create_site

CONFIG = """
settings: {max_check_spread: 100ms, passive_max_future: 30s}
agents:
  office: {hosts: {tag: office}, timeout: 1m}
  branch: {}
hosts:
  printer: {address: 192.0.2.5, tags: [office], check: {type: tcp, port: 9100}}
  nas: {address: 192.0.2.6, agent: office}
  shop: {address: 192.0.2.7, agent: branch}
  web: {address: 127.0.0.1}
services:
  - {name: toner, host: printer, max_check_attempts: 1, check: {type: dummy, state: 0}}
  - {name: disk, host: nas, max_check_attempts: 1, check: {type: plugin, command: [check_disk]}}
  - {name: till, host: shop, max_check_attempts: 1, check: {type: dummy, state: 0}}
  - {name: site, host: web, check_interval: 1h, check: {type: dummy, state: 0}}
"""


class Agents:
    def __init__(self, server: Server, client: httpx.AsyncClient, tokens: dict[str, str]):
        self.server, self.client, self.tokens = server, client, tokens
        self.seq = 0

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def state(self, host: str, service: str | None = None) -> tuple[int, str]:
        st = self.server.engine.states[CheckKey(host, service)]
        return st.state, st.output

    def result(self, service: str, status: int, at: float, host: str = "printer") -> dict[str, Any]:
        self.seq += 1
        return {
            "seq": self.seq,
            "host": host,
            "service": service,
            "measured_at": at,
            "exit_status": status,
            "output": f"state {status} at {at:.0f}",
            "perfdata": f"v={status}",
        }

    async def send(
        self, results: list[dict[str, Any]], who: str = "office", **extra: Any
    ) -> httpx.Response:
        body = {"epoch": "e1", "sent_at": time.time(), "results": results, **extra}
        return await self.client.post("/api/agent/results", json=body, headers=self.auth(who))


@pytest.fixture
async def agents(tmp_path: Path) -> AsyncIterator[Agents]:
    config = tmp_path / "augenmass.yaml"
    config.write_text(CONFIG)
    server = Server(config, tmp_path / "data")
    await server.start()
    try:
        control = Control(server)
        acc = control.accounts
        tokens = {
            "office": await accounts.create_token(acc, "office", frozenset({"submit"}), "office"),
            "branch": await accounts.create_token(acc, "branch", frozenset({"submit"}), "branch"),
            "submit": await accounts.create_token(acc, "script", frozenset({"submit"})),
            "read": await accounts.create_token(acc, "reader", frozenset({"read"})),
        }
        transport = httpx.ASGITransport(app=create_site(control))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            yield Agents(server, c, tokens)
    finally:
        await server.stop()


async def test_an_agent_gets_its_own_checks_with_a_version(agents: Agents) -> None:
    resp = await agents.client.get("/api/agent/checks", headers=agents.auth("office"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    got = {(c["host"], c["service"]) for c in body["checks"]}
    # the printer by tag, the nas by its own `agent:` key (its default ping too: the agent is
    # where the nas can be reached); never another agent's or the server's
    assert got == {("printer", None), ("printer", "toner"), ("nas", None), ("nas", "disk")}
    printer = next(c for c in body["checks"] if c == {**c, "host": "printer", "service": None})
    assert printer["macros"]["HOSTADDRESS"] == "192.0.2.5"
    assert body["settings"]["timeout"] == 60.0
    etag = resp.headers["etag"]
    again = await agents.client.get(
        "/api/agent/checks", headers={**agents.auth("office"), "If-None-Match": etag}
    )
    assert again.status_code == 304
    # the server does not run them itself
    assert CheckKey("printer", "toner") not in agents.server.scheduler._jobs
    assert CheckKey("web", "site") in agents.server.scheduler._jobs


async def test_results_apply_in_measurement_order_and_once(agents: Agents) -> None:
    now = time.time()
    first = agents.result("toner", 2, now - 30)
    second = agents.result("toner", 0, now - 20)
    # sent newest first: the server orders by measurement time, so OK (the newer) wins
    resp = await agents.send([second, first])
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 2
    assert agents.state("printer", "toner")[0] == 0
    # the same batch again (an answer lost on the way): taken once
    again = await agents.send([second, first])
    assert again.json() | {"skew": 0} == {
        **again.json(),
        "accepted": 0,
        "duplicates": 2,
        "skew": 0,
    }
    history = await agents.server.store.history(CheckKey("printer", "toner"), 0, now + 60, 100)
    assert [e.state for e in history if e.kind == "state_change"].count(2) <= 1
    # an old result replayed with a new seq does not roll the state back
    replay = agents.result("toner", 2, now - 25)
    resp = await agents.send([replay])
    assert resp.json()["late"] == 1
    assert agents.state("printer", "toner")[0] == 0


async def test_tokens_other_than_the_agents_own_change_nothing(agents: Agents) -> None:
    now = time.time()
    bad = agents.result("toner", 2, now)
    assert (await agents.send([bad], who="branch")).status_code == 403
    for who in ("submit", "read"):
        assert (await agents.send([bad], who=who)).status_code == 403
    agents.tokens["wrong"] = "am_" + "x" * 43
    assert (await agents.send([bad], who="wrong")).status_code == 401
    # an agent's token is no general submit token either
    resp = await agents.client.post(
        "/api/actions/process-check-result",
        json={"host": "printer", "service": "toner", "exit_status": 2, "plugin_output": "x"},
        headers=agents.auth("office"),
    )
    assert resp.status_code == 403
    control = Control(agents.server)
    await accounts.revoke_token(control.accounts, "office")
    assert (await agents.send([bad])).status_code == 401
    assert not agents.server.engine.states[CheckKey("printer", "toner")].checked


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"measured_at": 0.0}, 422, "older than agents.office.max_age"),
        ({"measured_at": time.time() + 3600}, 422, "in the future"),
        ({"exit_status": 7}, 422, "exit_status"),
        ({"host": "web", "service": "site"}, 403, "not run by agent"),
        ({"host": "nope", "service": "x"}, 404, "not in the configuration"),
    ],
)
async def test_bad_batches_are_refused_whole(
    agents: Agents, change: dict[str, Any], status: int, words: str
) -> None:
    good = agents.result("toner", 2, time.time())
    bad = {**agents.result("toner", 2, time.time()), **change}
    resp = await agents.send([good, bad])
    assert resp.status_code == status, resp.text
    assert words in resp.json()["detail"]
    assert not agents.server.engine.states[CheckKey("printer", "toner")].checked


async def test_oversized_batch_is_413(agents: Agents) -> None:
    many = [agents.result("toner", 0, time.time()) for _ in range(501)]
    for r in many:
        r["output"] = "x"
    resp = await agents.send(many)
    assert resp.status_code == 413
    assert "at most 500" in resp.json()["detail"]


async def test_a_fast_agent_clock_is_measured_and_tolerated(agents: Agents) -> None:
    ahead = 600.0  # the agent's clock runs ten minutes ahead
    now = time.time()
    one = agents.result("toner", 2, now + ahead - 5)
    body = {"epoch": "e1", "sent_at": now + ahead, "results": [one]}
    resp = await agents.client.post("/api/agent/results", json=body, headers=agents.auth("office"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["skew"] == pytest.approx(ahead, abs=5)
    # a later result stamped by a correct clock still applies
    later = agents.result("toner", 0, time.time())
    assert (await agents.send([later])).json()["late"] == 0
    assert agents.state("printer", "toner")[0] == 0
    listed = await agents.client.get("/api/agents", headers=agents.auth("read"))
    office = next(a for a in listed.json() if a["name"] == "office")
    assert office["connected"] is True and abs(office["skew"]) < 5
