"""Reads: hosts, services, problems with filters, history, series, notifications, health."""

from __future__ import annotations

import sqlalchemy as sa

from .conftest import Api


async def test_health_needs_no_login_and_keeps_its_fields(api: Api) -> None:
    resp = await api.client.get("/api/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["services"] == 4
    assert {"lateness_p50", "lateness_p99", "lateness_max"} <= body["scheduler"].keys()


async def test_problems_unhandled_first_by_severity_with_counts(api: Api) -> None:
    resp = await api.client.get("/api/problems", headers=api.bearer("read"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    rows = [(p["host"], p["service"], p["state"]) for p in body["problems"]]
    assert rows == [("web1", "disk", "CRITICAL"), ("web1", "load", "WARNING")]
    assert body["counts"]["CRITICAL"] == 1 and body["counts"]["WARNING"] == 1
    # hostile output is data, returned verbatim as a JSON string, never interpreted
    assert body["problems"][0]["output"] == "<script>alert(1)</script>"


async def test_problem_filters(api: Api) -> None:
    h = api.bearer("read")

    async def names(query: str) -> list[str]:
        resp = await api.client.get(f"/api/problems?{query}", headers=h)
        assert resp.status_code == 200, resp.text
        return [p["service"] for p in resp.json()["problems"]]

    assert await names("state=WARNING") == ["load"]
    assert await names("state=WARNING&state=CRITICAL") == ["disk", "load"]
    assert await names("tag=prod") == ["disk", "load"]
    assert await names("tag=nope") == []
    assert await names("hostgroup=web") == ["disk", "load"]
    assert await names("hostgroup=network") == []
    assert await names("handled=true") == []
    headers = await api.login("olga")
    resp = await api.client.post(
        "/api/actions/acknowledge",
        json={"host": "web1", "service": "load", "comment": "known"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    assert await names("handled=true") == ["load"]
    assert await names("handled=false") == ["disk"]
    assert await names("") == ["disk", "load"]  # unhandled first


async def test_hosts_and_services_never_show_config_secrets(api: Api) -> None:
    h = api.bearer("read")
    for path in (
        "/api/hosts",
        "/api/hosts/web1",
        "/api/services",
        "/api/services/web1/disk",
        "/api/problems",
        "/api/openapi.json",
    ):
        resp = await api.client.get(path, headers=h)
        assert resp.status_code == 200, (path, resp.text)
        assert "s3cr3t-community" not in resp.text, path
    hosts = {h["host"]: h for h in (await api.client.get("/api/hosts", headers=h)).json()}
    assert hosts["web1"]["groups"] == ["web"] and hosts["web1"]["services"] == 2
    detail = (await api.client.get("/api/services/web1/disk", headers=h)).json()
    assert detail["perfdata"][0]["label"] == "used" and detail["perfdata"][0]["value"] == 91
    assert (await api.client.get("/api/services/web1/nope", headers=h)).status_code == 404


async def test_history_series_and_notifications(api: Api) -> None:
    h = api.bearer("read")
    await api.server.writer.flush()
    hist = await api.client.get("/api/history?host=web1&service=disk", headers=h)
    assert hist.status_code == 200
    assert any(e["state"] == "CRITICAL" for e in hist.json())
    series = await api.client.get(
        "/api/series?host=web1&service=disk&label=used&resolution=raw", headers=h
    )
    assert series.status_code == 200, series.text
    points = series.json()["points"]
    assert points and points[0][1] == 91
    bad = await api.client.get(
        "/api/series?host=web1&service=disk&label=used&since=200&until=100", headers=h
    )
    assert bad.status_code == 422
    notes = await api.client.get("/api/notifications", headers=h)
    assert notes.status_code == 200 and isinstance(notes.json(), list)


async def test_notification_log_per_check_and_overall(api: Api) -> None:
    from augenmass.store.notify_schema import notify_log, notify_outbox

    now = api.server.clock.now()
    row = {
        "created": now,
        "due": now,
        "status": "sent",
        "contact": "it-lead",
        "channel": "email",
        "type": "PROBLEM",
        "host": "web1",
        "service": "disk",
        "state": 2,
        "number": 1,
        "at": now,
        "output": "x",
        "data": "{}",
        "attempts": 1,
        "last_error": "",
        "sent_at": now,
        "message_id": "<m@x>",
    }
    log_row = {
        "at": now,
        "contact": "it-lead",
        "channel": "email",
        "type": "PROBLEM",
        "checks": "web1/disk",
        "notifications": 1,
        "result": "sent",
        "detail": "",
    }
    async with api.server.store.engine.begin() as conn:
        await conn.execute(sa.insert(notify_outbox).values(**row))
        await conn.execute(sa.insert(notify_log).values(**log_row))
    h = api.bearer("read")
    per_check = (
        await api.client.get("/api/notifications?host=web1&service=disk", headers=h)
    ).json()
    assert [(n["contact"], n["type"], n["status"]) for n in per_check] == [
        ("it-lead", "PROBLEM", "sent")
    ]
    other = await api.client.get("/api/notifications?host=web1&service=load", headers=h)
    assert other.json() == []
    overall = (await api.client.get("/api/notifications", headers=h)).json()
    assert [(n["checks"], n["result"]) for n in overall] == [("web1/disk", "sent")]
