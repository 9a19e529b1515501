"""Privacy is a tested property: no table can hold a visitor's IP, user agent or referrer."""

from __future__ import annotations

import re

import sqlalchemy as sa

from augenmass.store import Store

SUSPECT = re.compile(r"ip|addr|remote|user_?agent|referr?er", re.IGNORECASE)
# Column names that match the pattern but hold no visitor data (e.g. "description").
ALLOWLIST: set[tuple[str, str]] = set()


async def test_no_column_can_hold_a_client_address(store: Store) -> None:
    def columns(conn: sa.Connection) -> list[tuple[str, str]]:
        insp = sa.inspect(conn)
        return [(tbl, c["name"]) for tbl in insp.get_table_names() for c in insp.get_columns(tbl)]

    async with store.engine.connect() as conn:
        found = await conn.run_sync(columns)
    assert len(found) > 40  # the inspection really saw our tables
    suspicious = [tc for tc in found if SUSPECT.search(tc[1]) and tc not in ALLOWLIST]
    assert suspicious == []
