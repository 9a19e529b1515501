"""/metrics: Prometheus text format, perfdata gauges, states, the server's own figures."""

from __future__ import annotations

import asyncio
import math
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from augenmass.api.metrics import escape

from .conftest import Api

# name{label="value",...} number — label values may hold \\, \" and \n escapes only
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
_SAMPLE = re.compile(
    rf"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{{{_LABEL}(?:,{_LABEL})*\}})? "
    r"(?P<value>[-+]?(?:[0-9.eE+-]+|Inf|NaN))$"
)


def _samples(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* \S", line), line
            continue
        m = _SAMPLE.match(line)
        assert m, f"not exposition format: {line!r}"
        out[m["name"] + (m["labels"] or "")] = float(m["value"])
    return out


async def test_metrics_in_exposition_format(api: Api) -> None:
    resp = await api.client.get("/metrics", headers=api.bearer("read"))
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    s = _samples(resp.text)
    # perfdata in base units, the unit in the family's name
    assert s['augenmass_service_perfdata_ratio{host="web1",service="disk",label="used"}'] == 0.91
    assert s['augenmass_service_perfdata{host="web1",service="load",label="load1"}'] == 3.5
    weird = 'augenmass_service_perfdata{host="web1",service="disk",label="we\\"ird\\\\la bel"}'
    assert s[weird] == 1
    # hosts and services apart: a service's 1 is WARNING, a host's 1 would be DOWN
    assert s['augenmass_service_state{host="web1",service="disk"}'] == 2
    assert s['augenmass_service_state{host="web1",service="load"}'] == 1
    assert s['augenmass_host_state{host="router"}'] == 0
    assert not any(k.startswith("augenmass_host_state") and "service=" in k for k in s)
    assert not any('service=""' in k for k in s)
    # pending: no sample rather than a made-up value
    assert 'augenmass_service_state{host="web2",service="backup"}' not in s
    assert s['augenmass_service_handled{host="web1",service="disk"}'] == 0
    assert s['augenmass_service_state_hard{host="web1",service="disk"}'] == 1
    last = s['augenmass_service_last_check_timestamp_seconds{host="web1",service="disk"}']
    assert abs(last - time.time()) < 600
    assert s['augenmass_service_check_duration_seconds{host="web1",service="disk"}'] >= 0
    assert s["augenmass_checks_started_total"] >= 3
    assert "augenmass_scheduler_lateness_p99_seconds" in s
    assert s["augenmass_notifications_sent_total"] >= 0
    assert s["process_resident_memory_bytes"] > 10 * 2**20
    assert s["process_open_fds"] > 3
    assert abs(s["process_start_time_seconds"] - time.time()) < 3600


PERF_UNITS = [
    ("time=3ms;;;0", "augenmass_service_perfdata_seconds", 0.003),
    ("rta=0.25s", "augenmass_service_perfdata_seconds", 0.25),
    ("size=2KB", "augenmass_service_perfdata_bytes", 2048.0),
    ("free=1.5GB", "augenmass_service_perfdata_bytes", 1.5 * 2**30),
    ("errors=17c", "augenmass_service_perfdata_total", 17.0),
]


async def test_perfdata_units_become_base_units(api: Api) -> None:
    from augenmass.core.perfdata import parse_perfdata
    from augenmass.core.values import CheckKey, CheckResult

    for text, family, value in PERF_UNITS:
        label = text.split("=")[0]
        res = CheckResult(
            CheckKey("web2", "backup"),
            0,
            "ok",
            perfdata=parse_perfdata(text)[0],
            started_at=time.time(),
            passive=True,
        )
        await api.server.ingest(res)
        s = _samples((await api.client.get("/metrics", headers=api.bearer("read"))).text)
        got = s[f'{family}{{host="web2",service="backup",label="{label}"}}']
        assert math.isclose(got, value), (text, got)
    # another unit keeps its value, named in a `unit` label
    res = CheckResult(
        CheckKey("web2", "backup"),
        0,
        "ok",
        perfdata=parse_perfdata("signal=-61dBm")[0],
        started_at=time.time(),
        passive=True,
    )
    await api.server.ingest(res)
    s = _samples((await api.client.get("/metrics", headers=api.bearer("read"))).text)
    assert (
        s['augenmass_service_perfdata{host="web2",service="backup",label="signal",unit="dBm"}']
        == -61
    )


async def test_promtool_accepts_the_scrape(api: Api, tmp_path: Path) -> None:
    """`promtool check metrics` (Debian's prometheus package) on a real scrape: no error and no
    lint warning (counters end in _total, units in the name, HELP everywhere)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing (apt-get install prometheus)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    text = (await api.client.get("/metrics", headers=api.bearer("read"))).text
    out = await asyncio.to_thread(
        subprocess.run,
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and out.stdout.strip() == "" and out.stderr.strip() == "", (
        out.stdout + out.stderr
    )


async def test_metrics_need_a_read_token_or_login(api: Api) -> None:
    assert (await api.client.get("/metrics")).status_code == 401
    assert (await api.client.get("/metrics", headers=api.bearer("submit"))).status_code == 403
    await api.login("vera")
    assert (await api.client.get("/metrics")).status_code == 200


def test_label_escaping() -> None:
    assert escape('a\\b"c\nd') == 'a\\\\b\\"c\\nd'


async def test_a_scrape_asking_for_gzip_gets_it(api: Api) -> None:
    def families(text: str) -> set[str]:
        return {line for line in text.splitlines() if line.startswith("# TYPE")}

    # A family appears with its first sample (a host's check duration once a host check has
    # run): two scrapes agree once the checks a family waits for have run. Bounded.
    for _ in range(50):
        plain = await api.client.get(
            "/metrics", headers={**api.bearer("read"), "Accept-Encoding": "identity"}
        )
        raw = await api.client.get(
            "/metrics", headers={**api.bearer("read"), "Accept-Encoding": "gzip"}
        )
        if families(plain.text) == families(raw.text):
            break
        await asyncio.sleep(0.1)
    assert raw.headers["content-encoding"] == "gzip"
    # httpx decodes it: the same families as the plain answer
    assert families(plain.text) == families(raw.text)
    assert raw.num_bytes_downloaded < len(plain.content) / 3  # what crossed the wire
