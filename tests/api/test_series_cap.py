"""settings.max_series_per_check through a real server: drops show in /api/health and /metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from .conftest import CONFIG, Api


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    # web1/disk reports two labels a run: with a cap of one, the second is dropped every run
    path = tmp_path / "augenmass.yaml"
    capped = "settings: {max_check_spread: 100ms, max_series_per_check: 1}"
    path.write_text(CONFIG.replace("settings: {max_check_spread: 100ms}", capped, 1))
    return path


async def test_dropped_perfdata_values_are_counted_in_health_and_metrics(api: Api) -> None:
    async def dropped() -> int:
        await api.server.writer.flush()
        resp = await api.client.get("/api/health")
        return int(resp.json()["store"]["perfdata_dropped"])

    seen = [await dropped()]

    async def grows() -> bool:
        seen.append(await dropped())
        return seen[-1] >= 2

    for _ in range(100):  # at most 10 s: the disk check runs every second
        if await grows():
            break
        await asyncio.sleep(0.1)
    assert seen[-1] >= 2, seen
    metrics = (await api.client.get("/metrics", headers=api.bearer("read"))).text
    [line] = [x for x in metrics.splitlines() if x.startswith("augenmass_perfdata_dropped_total")]
    assert int(line.split()[1]) >= 2
