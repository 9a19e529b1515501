"""Passive results in time: refused outside the configured bounds (nothing stored), clamped
when slightly ahead, stored for history when older than the current state (and said so)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from augenmass.core.values import CheckKey

from .conftest import CONFIG, Api

BACKUP = CheckKey("web2", "backup")
URL = "/api/actions/process-check-result"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "augenmass.yaml"
    bounds = "settings: {max_check_spread: 100ms, passive_max_age: 2h, passive_max_future: 30s}"
    text = CONFIG.replace("settings: {max_check_spread: 100ms}", bounds, 1)
    # a host only passive results speak for (a dead-man host: no check, expect_every)
    text = text.replace("hosts:\n", "hosts:\n  kiosk: {address: 127.0.0.1, expect_every: 1h}\n", 1)
    path.write_text(text)
    return path


def _body(started: float | None, status: int = 2, output: str = "x") -> dict[str, object]:
    body: dict[str, object] = {
        "host": "web2",
        "service": "backup",
        "exit_status": status,
        "plugin_output": f"{output} | age={status}s",
    }
    if started is not None:
        body["execution_start"] = started
    return body


async def _nothing_stored(api: Api) -> None:
    assert api.state("web2", "backup") == -1  # still pending
    await api.server.writer.flush()
    assert await api.server.store.last_results(BACKUP) == []
    assert await api.server.store.series_points(BACKUP, "age", 0, 4e9, "raw") == []


@pytest.mark.parametrize("started", [0.0, time.time() - 3 * 3600], ids=["epoch", "3h-ago"])
async def test_a_result_older_than_passive_max_age_is_refused(api: Api, started: float) -> None:
    resp = await api.client.post(URL, json=_body(started), headers=api.bearer("submit"))
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"]
    assert "settings.passive_max_age (2h)" in detail and "nothing stored" in detail
    await _nothing_stored(api)


async def test_a_result_too_far_in_the_future_is_refused(api: Api) -> None:
    started = time.time() + 3600
    resp = await api.client.post(URL, json=_body(started), headers=api.bearer("submit"))
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"]
    assert "in the future" in detail and "settings.passive_max_future (30s)" in detail
    await _nothing_stored(api)


async def test_a_result_slightly_ahead_counts_as_now_for_state_and_points(api: Api) -> None:
    before = time.time()
    resp = await api.client.post(URL, json=_body(before + 20), headers=api.bearer("submit"))
    after = time.time()
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"ok": True, "applied": True}
    st = api.server.engine.states[BACKUP]
    assert st.state == 2 and before <= st.last_check <= after
    await api.server.writer.flush()
    [last] = await api.server.store.last_results(BACKUP)
    assert before <= last.started_at <= after
    [(ts, value, _, _)] = await api.server.store.series_points(BACKUP, "age", 0, 4e9, "raw")
    assert before <= ts <= after and value == 2.0


async def test_a_result_older_than_the_state_is_stored_for_history_only(api: Api) -> None:
    h = api.bearer("submit")
    now = time.time()
    first = await api.client.post(URL, json=_body(now - 10, 2, "newer"), headers=h)
    assert first.json() == {"ok": True, "applied": True}
    late = now - 3600  # an agent's buffered result, sent after an outage
    resp = await api.client.post(URL, json=_body(late, 0, "older"), headers=h)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["ok"] is True and answer["applied"] is False
    assert answer["reason"].startswith("older than the current state (")
    assert answer["reason"].endswith("); stored for history only")
    st = api.server.engine.states[BACKUP]
    assert (st.state, st.output) == (2, "newer")  # the state did not go back in time
    await api.server.writer.flush()
    points = await api.server.store.series_points(BACKUP, "age", now - 7200, now + 60, "raw")
    assert [(round(ts, 3), v) for ts, v, _, _ in points] == [
        (round(late, 3), 0.0),  # at its real time
        (round(now - 10, 3), 2.0),
    ]
    results = await api.server.store.last_results(BACKUP)
    assert sorted(r.output for r in results) == ["newer", "older"]


async def test_without_a_start_time_the_result_is_now(api: Api) -> None:
    resp = await api.client.post(URL, json=_body(None, 1), headers=api.bearer("submit"))
    assert resp.json() == {"ok": True, "applied": True}
    assert api.state("web2", "backup") == 1


async def test_a_passive_down_for_a_host_without_a_check_is_down_in_every_view(api: Api) -> None:
    body = {"host": "kiosk", "exit_status": 1, "plugin_output": "kiosk PC gone"}
    resp = await api.client.post(URL, json=body, headers=api.bearer("submit"))
    assert resp.status_code == 200, resp.text
    assert api.state("kiosk") == 1
    read = api.bearer("read")
    listed = {h["host"]: h for h in (await api.client.get("/api/hosts", headers=read)).json()}
    one = (await api.client.get("/api/hosts/kiosk", headers=read)).json()
    assert listed["kiosk"]["state"] == one["state"] == "DOWN", (listed["kiosk"], one)
    assert listed["web1"]["state"] == "UP"  # the check-less hosts without results stay UP
