"""A real SNMP agent for the SNMP probe tests: snmpsim serving tests/fixtures/snmp on a free
127.0.0.1 UDP port for the whole session (community = recording name; one SNMPv3 user).

snmpsim lives in its own venv (tests/probes/snmp/snmpsim_env.sh makes it). Without it the tests
skip with the reason; under CI=true they fail instead.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import snmpagent

from augenmass.probes.snmp.client import Credentials, SnmpClient, SnmpError, Target

V3_USER, V3_AUTH, V3_PRIV = snmpagent.V3_USER, snmpagent.V3_AUTH, snmpagent.V3_PRIV


@dataclass(frozen=True)
class Agent:
    host: str
    port: int

    def options(self, community: str, **extra: object) -> dict[str, object]:
        return {"host": self.host, "port": self.port, "community": community, "retries": 0, **extra}

    def v3_options(self, context: str, **extra: object) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "version": "3",
            "user": V3_USER,
            "auth_protocol": "sha",
            "auth_key": V3_AUTH,
            "priv_protocol": "aes",
            "priv_key": V3_PRIV,
            "context": context,
            "retries": 0,
            **extra,
        }


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    async def probe() -> bool:
        client = SnmpClient()
        try:
            await client.get(
                Target("127.0.0.1", port, 0.3, 0), Credentials("2c", "xerox"), ["1.3.6.1.2.1.1.1.0"]
            )
            return True
        except SnmpError:
            return False
        finally:
            client.close()

    return asyncio.run(probe())


@pytest.fixture(scope="module")  # ends with its module: no child process outlives it
def snmp_agent() -> Iterator[Agent]:
    port = _free_udp_port()
    with snmpagent.snmpsim([f"127.0.0.1:{port}"], lambda: _answers(port)):
        yield Agent("127.0.0.1", port)
