"""Every network probe refuses cloud metadata and link-local addresses, checked where no packet
can leave: a fresh network namespace with only `lo`, the metadata addresses on it and listeners
recording anything that reaches them (see netpolicy_jail.py). Needs root for `unshare -n`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

JAIL = Path(__file__).with_name("netpolicy_jail.py")
REFUSED = "refused (set allow_link_local: true to allow)"


@pytest.fixture(scope="module")
def jail(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("network namespaces need root, unshare and ip (CI=true: must run)")
        pytest.skip("network namespaces need root, unshare and ip")
    hosts = tmp_path_factory.mktemp("jail") / "hosts"
    hosts.write_text("127.0.0.1 localhost\n169.254.169.254 metadata.google.internal\n")
    # a mount namespace too: the jail sees this hosts file, nobody else does
    script = 'mount --bind "$1" /etc/hosts && exec "$2" "$3"'
    done = subprocess.run(
        ["unshare", "-n", "-m", "--", "sh", "-c", script, "sh", hosts, sys.executable, JAIL],
        capture_output=True,
        text=True,
        timeout=120,
        # PYTHONPATH: the jail imports this checkout's probes
        env={**os.environ, "JAIL_NAMES": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_every_probe_refuses_every_metadata_address(jail: dict[str, Any]) -> None:
    wrong = {
        case: got["output"]
        for case, got in jail["outcomes"].items()
        if got["status"] not in (2, 3) or REFUSED not in got["output"]
    }
    assert not wrong, wrong
    # the reason names the address and why
    assert (
        "169.254.169.254 is a cloud metadata address"
        in jail["outcomes"]["tcp 169.254.169.254"]["output"]
    )
    assert (
        "168.63.129.16 is a cloud metadata address"
        in jail["outcomes"]["smtp 168.63.129.16"]["output"]
    )


def test_no_packet_reached_a_refused_address(jail: dict[str, Any]) -> None:
    assert jail["refused_hits"] == []
    # refused before any traffic: no probe waited for its timeout (14 cases x 4 targets)
    assert jail["refused_seconds"] < 5.0


def test_allow_link_local_connects(jail: dict[str, Any]) -> None:
    # the control: the listener does see a connection when the check allows it
    assert jail["allowed"]["status"] == 0, jail["allowed"]["output"]
    assert "tcp 169.254.169.254:7000" in jail["allowed_hits"]
    assert "udp 169.254.169.254:5060" in jail["allowed_hits"]  # sip over UDP
    assert "icmp 169.254.169.254" in jail["allowed_hits"]
