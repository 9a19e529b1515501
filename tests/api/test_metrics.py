"""/metrics: Prometheus text format, perfdata gauges, states, the server's own figures."""

from __future__ import annotations

import re

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
    assert s['augenmass_perfdata_value{host="web1",service="disk",label="used",uom="%"}'] == 91
    assert s['augenmass_perfdata_value{host="web1",service="load",label="load1",uom=""}'] == 3.5
    weird = 'augenmass_perfdata_value{host="web1",service="disk",label="we\\"ird\\\\la bel",uom=""}'
    assert s[weird] == 1
    assert s['augenmass_check_state{host="web1",service="disk"}'] == 2
    assert s['augenmass_check_state{host="web1",service="load"}'] == 1
    assert s['augenmass_check_state{host="web2",service="backup"}'] == -1  # pending
    assert s['augenmass_check_handled{host="web1",service="disk"}'] == 0
    assert s["augenmass_checks_started_total"] >= 3
    assert 'augenmass_scheduler_lateness_seconds{quantile="0.99"}' in s


async def test_metrics_need_a_read_token_or_login(api: Api) -> None:
    assert (await api.client.get("/metrics")).status_code == 401
    assert (await api.client.get("/metrics", headers=api.bearer("submit"))).status_code == 403
    await api.login("vera")
    assert (await api.client.get("/metrics")).status_code == 200


def test_label_escaping() -> None:
    assert escape('a\\b"c\nd') == 'a\\\\b\\"c\\nd'
