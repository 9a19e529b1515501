"""kill -9 thirty times at random while fifty services flip (real SMTP server, SQLite and
PostgreSQL): no notification that was decided is lost; a duplicate is the same message again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import killloop
import pytest
from pgschema import pg_store_url

from notify.helpers import MailServer

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
    else:
        with pg_store_url("killloop") as url:
            yield url


def test_thirty_kills_lose_no_notification(
    tmp_path: Path, smtp: MailServer, store_url: str | None
) -> None:
    figures = killloop.run(tmp_path, smtp, kills=30, store=store_url)
    assert figures.kills == 30
    assert figures.decided >= 50, figures  # the loop really flipped and notified
    assert figures.problems == [], figures.problems[:10]
    assert figures.sent_rows == figures.rows == figures.decided * 2
