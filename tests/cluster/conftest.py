"""One real nats-server -js per test module (tests/support/natsserver.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from natsserver import NatsServer, nats_missing


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    reason = nats_missing()
    if reason:
        pytest.skip(reason)
    server = NatsServer(tmp_path_factory.mktemp("nats")).start()
    try:
        yield server
    finally:
        server.stop()
