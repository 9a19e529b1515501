"""schemathesis against /api/openapi.json of the real server: no 500s, answers as documented."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import CONFIG
from .proc import ServerProcess, cli

pytestmark = pytest.mark.slow

EXAMPLES = 12  # per operation and credential; bounded so the suite stays fast
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    tmp = tmp_path_factory.mktemp("schema")
    cfg = tmp / "augenmass.yaml"
    cfg.write_text(CONFIG)
    proc = ServerProcess(cfg, tmp / "data")
    tok = cli("token", "create", "fuzz", "--scope", "read,write,submit", "--data", str(proc.data))
    assert tok.returncode == 0, tok.stderr
    proc.start()
    yield proc, tok.stdout.strip()
    assert proc.stop() == 0  # the server survived the fuzzing and shut down cleanly


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("with_token", [True, False], ids=["token", "anonymous"])
def test_openapi_operations(server: tuple[ServerProcess, str], with_token: bool) -> None:
    proc, token = server
    schema = schemathesis.openapi.from_url(f"{proc.url}/api/openapi.json")
    headers = {"Authorization": f"Bearer {token}"} if with_token else {}
    ops = _operations(schema)
    paths = {op.path for op in ops}
    assert {"/api/problems", "/api/actions/process-check-result", "/api/series"} <= paths
    for op in ops:
        if op.path == "/api/actions/reload":
            continue  # re-reads the config file: covered in test_actions

        @given(case=op.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call(base_url=proc.url, headers=headers, timeout=10)
            case.validate_response(response, checks=CHECKS)

        run()
    health = __import__("httpx").get(f"{proc.url}/api/health", timeout=5)
    assert health.status_code == 200
