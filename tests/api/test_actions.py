"""Operator actions through the API: the engine state changes, is durable and audited."""

from __future__ import annotations

import logging
import time

import pytest

from augenmass.api import audit
from augenmass.core.values import CheckKey

from .conftest import Api, wait_until

DISK = CheckKey("web1", "disk")


async def test_acknowledge_with_expiry_then_remove(api: Api) -> None:
    h = api.bearer("write")
    expires = time.time() + 3600
    resp = await api.client.post(
        "/api/actions/acknowledge",
        json={
            "host": "web1",
            "service": "disk",
            "comment": "on it",
            "sticky": True,
            "expires": expires,
        },
        headers=h,
    )
    assert resp.status_code == 200, resp.text
    ack = api.server.engine.states[DISK].acknowledgement
    assert ack is not None and ack.sticky and ack.expires_at == expires
    assert ack.author == "token:agent-write" and ack.comment == "on it"
    snap = await api.server.store.load()  # committed before the answer
    assert snap.states[DISK].acknowledgement == ack
    again = await api.client.post(
        "/api/actions/acknowledge", json={"host": "web2", "service": "ping"}, headers=h
    )
    assert again.status_code == 409  # an OK service has nothing to acknowledge
    resp = await api.client.post(
        "/api/actions/remove-acknowledgement", json={"host": "web1", "service": "disk"}, headers=h
    )
    assert resp.status_code == 200
    assert api.server.engine.states[DISK].acknowledgement is None
    log = await audit.entries(api.control)
    assert [(e.user_name, e.action, e.target) for e in log] == [
        ("token:agent-write", "remove_acknowledgement", "web1/disk"),
        ("token:agent-write", "acknowledge", "web1/disk"),
    ]


async def test_session_user_is_the_audited_author(api: Api) -> None:
    headers = await api.login("olga")
    resp = await api.client.post(
        "/api/actions/acknowledge",
        json={"host": "web1", "service": "load", "comment": "ticket 42"},
        headers=headers,
    )
    assert resp.status_code == 200
    [entry] = await audit.entries(api.control)
    assert (entry.user_name, entry.action, entry.detail) == ("olga", "acknowledge", "ticket 42")


async def test_host_downtime_with_services_and_child_hosts(api: Api) -> None:
    h = api.bearer("write")
    resp = await api.client.post(
        "/api/actions/downtime",
        json={
            "host": "web1",
            "duration": 3600,
            "comment": "patching",
            "all_services": True,
            "child_hosts": True,
        },
        headers=h,
    )
    assert resp.status_code == 200, resp.text
    ids = resp.json()["ids"]
    assert len(ids) == 2  # web1 and its child web2
    covered = {dt.key for dt in api.server.engine.downtimes.values()}
    assert {
        CheckKey("web1"),
        DISK,
        CheckKey("web1", "load"),
        CheckKey("web2"),
        CheckKey("web2", "ping"),
    } <= covered
    assert api.server.engine.states[DISK].downtime_depth == 1
    probs = (await api.client.get("/api/problems", headers=api.bearer("read"))).json()
    assert all(p["handled"] and p["in_downtime"] for p in probs["problems"])
    # one removal undoes the whole action: services and child hosts included
    resp = await api.client.post("/api/actions/remove-downtime", json={"id": ids[0]}, headers=h)
    assert resp.status_code == 200
    assert api.server.engine.downtimes == {}
    assert api.server.engine.states[DISK].downtime_depth == 0
    gone = await api.client.post("/api/actions/remove-downtime", json={"id": ids[0]}, headers=h)
    assert gone.status_code == 404


async def test_flexible_downtime_needs_a_duration(api: Api) -> None:
    h = api.bearer("write")
    now = time.time()
    resp = await api.client.post(
        "/api/actions/downtime",
        json={"host": "web1", "start": now, "end": now + 600, "fixed": False},
        headers=h,
    )
    assert resp.status_code == 422 and "duration" in resp.json()["detail"]
    resp = await api.client.post(
        "/api/actions/downtime",
        json={"host": "web1", "start": now, "end": now + 600, "fixed": False, "duration": 60},
        headers=h,
    )
    assert resp.status_code == 200
    [dt] = api.server.engine.downtimes.values()
    assert not dt.fixed and dt.duration == 60


async def test_check_now(api: Api) -> None:
    resp = await api.client.post(
        "/api/actions/check-now",
        json={"host": "web2", "service": "backup"},
        headers=api.bearer("write"),
    )
    assert resp.status_code == 200
    await wait_until(lambda: api.state("web2", "backup") == 0, "the forced check of backup")


async def test_passive_result_like_icinga_process_check_result(api: Api) -> None:
    resp = await api.client.post(
        "/api/actions/process-check-result",
        json={
            "host": "web2",
            "service": "backup",
            "exit_status": 2,
            "plugin_output": "backup failed | age=90000s;86400;172800",
            "performance_data": ["size=0B"],
            "check_source": "backup-agent",
            "execution_start": time.time() - 2,
            "execution_end": time.time(),
        },
        headers=api.bearer("submit"),
    )
    assert resp.status_code == 200, resp.text
    st = api.server.engine.states[CheckKey("web2", "backup")]
    assert (st.state, st.output) == (2, "backup failed")
    assert [d.label for d in st.perfdata] == ["age", "size"]
    await api.server.writer.flush()
    [last, *_] = await api.server.store.last_results(CheckKey("web2", "backup"))
    assert last.passive and last.source == "api" and 1.5 < last.duration < 10


async def test_bad_passive_results_change_nothing(api: Api) -> None:
    h = api.bearer("submit")
    url = "/api/actions/process-check-result"
    unknown = await api.client.post(
        url,
        json={"host": "web2", "service": "nope", "exit_status": 2, "plugin_output": "x"},
        headers=h,
    )
    assert unknown.status_code == 404
    bad_code = await api.client.post(
        url,
        json={"host": "web2", "service": "backup", "exit_status": 7, "plugin_output": "x"},
        headers=h,
    )
    assert bad_code.status_code == 422 and "exit_status" in bad_code.json()["detail"]
    malformed = await api.client.post(
        url, content=b'{"host": "web2", "servi', headers={**h, "content-type": "application/json"}
    )
    assert malformed.status_code == 422
    assert "JSON" in malformed.json()["detail"]
    extra = await api.client.post(
        url,
        json={
            "host": "web2",
            "service": "backup",
            "exit_status": 0,
            "plugin_output": "x",
            "bogus": 1,
        },
        headers=h,
    )
    assert extra.status_code == 422 and "bogus" in extra.json()["detail"]
    assert api.state("web2", "backup") == -1  # still pending: nothing got in
    await api.server.writer.flush()
    assert await api.server.store.last_results(CheckKey("web2", "backup")) == []


async def test_reload_refuses_a_broken_config(api: Api) -> None:
    headers = await api.login("ada")
    api.server.config_path.write_text("hosts: [broken")
    resp = await api.client.post("/api/actions/reload", headers=headers)
    assert resp.status_code == 409
    assert len(api.server.plan.services) == 4  # the old config keeps running
    [entry] = await audit.entries(api.control)
    assert (entry.user_name, entry.action, entry.detail) == ("ada", "reload", "refused")


async def test_reload_refuses_a_config_emptied_of_hosts_at_error(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    headers = await api.login("ada")
    api.server.config_path.write_text("# moved to conf.d/\n")
    with caplog.at_level(logging.ERROR, logger="augenmass"):
        resp = await api.client.post("/api/actions/reload", headers=headers)
    assert resp.status_code == 409
    assert len(api.server.plan.services) == 4  # the old config keeps running
    [refusal] = [r for r in caplog.records if "reload refused" in r.getMessage()]
    assert refusal.levelno == logging.ERROR
    assert "no hosts are defined" in refusal.__dict__["first"]


async def test_reload_names_the_settings_that_wait_for_a_restart(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    path = api.server.config_path
    text = path.read_text()
    assert "settings: {max_check_spread: 100ms}" in text
    path.write_text(
        text.replace(
            "settings: {max_check_spread: 100ms}",
            "settings: {max_check_spread: 100ms, probe_workers: 3, max_concurrent_checks: 7,"
            " status_page: {title: Office}}",
        )
    )
    with caplog.at_level(logging.WARNING, logger="augenmass"):
        assert await api.server.reload()
    [warning] = [r for r in caplog.records if "next restart" in r.getMessage()]
    assert warning.__dict__["settings"] == "probe_workers, max_concurrent_checks"
    # what a reload can apply is applied; the rest keeps its start-up value until a restart
    assert api.server.plan.settings.status_page_title == "Office"
    assert api.server.workers.count != 3
