"""A corrupt SQLite file: the server starts, keeps the file, and restores acks and downtimes."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from augenmass.store import WriteBatch, open_store
from augenmass.store.sidecar import sidecar_path

from .helpers import HOST, WEB, ack, downtime, event, state


def _copies(d: Path) -> list[Path]:
    return list(d.glob("*.corrupt-*"))


def _garbage(p: Path) -> None:
    p.write_bytes(os.urandom(8192))


def _zero(p: Path) -> None:
    p.write_bytes(b"")


def _truncated(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 3])


async def _store_with_handling(path: Path) -> None:
    s = await open_store(str(path))
    await s.write(
        WriteBatch(
            states=[state(WEB, acknowledgement=ack()), state(HOST, 1)],
            downtimes_set=[downtime("dt-1", HOST)],
        )
    )
    # enough rows that truncation cuts into real pages
    await s.write(WriteBatch(events=[event(1000.0 + i) for i in range(3000)]))
    await s.close()


@pytest.mark.parametrize("damage", [_garbage, _zero, _truncated], ids=["garbage", "zero", "trunc"])
async def test_corrupt_file_is_kept_aside_and_handling_restored(
    tmp_path: Path, damage: Callable[[Path], None], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "augenmass.db"
    await _store_with_handling(path)
    assert sidecar_path(path).exists()
    damage(path)

    with caplog.at_level(logging.ERROR, logger="augenmass.store"):
        s = await open_store(str(path))
    try:
        assert s.degraded_reason is not None
        aside = _copies(tmp_path)
        assert len(aside) == 1 and len(aside[0].name.rsplit("-", 1)[1]) == 12
        assert aside[0].name in s.degraded_reason
        assert any("STORE CORRUPT" in r.getMessage() for r in caplog.records)
        snap = await s.load()
        assert snap.states[WEB].acknowledgement == ack()
        assert snap.downtimes == {"dt-1": downtime("dt-1", HOST)}
        await s.write(WriteBatch(states=[state(WEB, 0)]))  # the fresh store works
    finally:
        await s.close()


async def test_restart_loop_keeps_one_copy_per_content(tmp_path: Path) -> None:
    path = tmp_path / "augenmass.db"
    junk = os.urandom(4096)
    for _ in range(3):
        path.write_bytes(junk)
        s = await open_store(str(path))
        await s.close()
    assert len(_copies(tmp_path)) == 1


async def test_healthy_restart_is_not_degraded(tmp_path: Path) -> None:
    path = tmp_path / "augenmass.db"
    await _store_with_handling(path)
    s = await open_store(f"sqlite:///{path}")
    try:
        assert s.degraded_reason is None
        assert _copies(tmp_path) == []
    finally:
        await s.close()


async def test_corrupt_file_without_sidecar_still_starts(tmp_path: Path) -> None:
    path = tmp_path / "augenmass.db"
    _garbage(path)
    s = await open_store(str(path))
    try:
        assert s.degraded_reason is not None
        assert (await s.load()).states == {}
    finally:
        await s.close()


async def test_sidecar_follows_ack_removal(tmp_path: Path) -> None:
    path = tmp_path / "augenmass.db"
    await _store_with_handling(path)
    s = await open_store(str(path))
    await s.write(WriteBatch(states=[state(WEB)], downtimes_removed=["dt-1"]))  # ack cleared
    await s.close()
    _garbage(path)
    s = await open_store(str(path))
    try:
        snap = await s.load()
        assert snap.downtimes == {}
        assert all(st.acknowledgement is None for st in snap.states.values())
    finally:
        await s.close()


async def test_damage_found_only_while_loading_is_handled_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Big stores skip quick_check at start-up, so damage can slip through the cheap checks;
    # loading must then still catch it. Simulate checks that see nothing.
    monkeypatch.setattr("augenmass.store.recovery.sqlite_problem", lambda _p: None)
    path = tmp_path / "augenmass.db"
    s = await open_store(str(path))
    await s.write(WriteBatch(events=[event(1000.0 + i) for i in range(3000)]))
    await s.write(WriteBatch(states=[state(WEB, acknowledgement=ack())]))
    await s.close()
    _truncated(path)
    s = await open_store(str(path))
    try:
        assert "unreadable" in (s.degraded_reason or "")
        assert len(_copies(tmp_path)) == 1
        assert (await s.load()).states[WEB].acknowledgement == ack()
    finally:
        await s.close()
