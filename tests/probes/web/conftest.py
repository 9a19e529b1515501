"""Fixtures for the http/tls probe tests: a real HTTP server on 127.0.0.1 and a test PKI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from webtest_certs import Pki, make_pki
from webtest_servers import Running, http_app, serve


@pytest.fixture
async def web() -> AsyncIterator[Running]:
    async with serve(http_app) as running:
        yield running


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)
