"""`icmp`: pings to 127.0.0.1 and ::1, loss from a namespace the test builds, permissions."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from local_probe_helpers import job, need, open_fds

import augenmass
from augenmass.config.checks import check_model
from augenmass.probes.icmp import IcmpProbe
from augenmass.runner import Runner


def can_ping() -> bool:
    """Raw sockets as root, or datagram ICMP sockets allowed for our group."""
    kind = socket.SOCK_RAW if os.geteuid() == 0 else socket.SOCK_DGRAM
    try:
        socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP).close()
    except OSError:
        return False
    return True


def ping_groups() -> tuple[int, int]:
    with open("/proc/sys/net/ipv4/ping_group_range") as handle:
        low, high = (int(x) for x in handle.read().split())
    return low, high


@pytest.fixture
def pingable() -> None:
    need(can_ping(), "this user may open no ICMP socket (not root, ping_group_range)")


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_loopback(pingable: None, host: str) -> None:
    got = await IcmpProbe().run({"host": host, "packets": 3, "interval": 0.05}, 5.0)
    assert got.status == 0, got.output
    assert got.output.startswith(f"PING OK - {host}: 0% packet loss, rta ")
    perf = {p.label: p for p in got.perfdata}
    assert (perf["rta"].uom, perf["rta"].warn, perf["rta"].crit) == ("ms", "100", "500")
    assert (perf["pl"].value, perf["pl"].uom, perf["pl"].warn, perf["pl"].crit) == (
        0.0, "%", "20", "60",
    )  # fmt: skip
    assert 0 < perf["rtmin"].value <= perf["rta"].value <= perf["rtmax"].value  # type: ignore[operator]
    low, high = ping_groups()  # datagram sockets where allowed (as ping), else raw as root
    allowed = any(low <= g <= high for g in (os.getegid(), *os.getgroups()))
    mode = "datagram socket" if allowed else "raw socket"
    assert got.long_output == f"3 of 3 replies, min {perf['rtmin'].value:.3f} ms; mode: {mode}"


async def test_rtt_thresholds_in_milliseconds(pingable: None) -> None:
    slow = await IcmpProbe().run(
        {"host": "127.0.0.1", "packets": 2, "interval": 0.05, "warning_rtt": "0.000001"}, 5.0
    )
    assert slow.status == 1 and slow.output.startswith("PING WARNING - 127.0.0.1")
    worse = await IcmpProbe().run(
        {"host": "127.0.0.1", "packets": 2, "interval": 0.05, "critical_rtt": "0.000001"}, 5.0
    )
    assert worse.status == 2


@pytest.mark.slow
async def test_partial_loss(pingable: None, lossy_netns: str) -> None:
    got = await IcmpProbe().run(
        {"host": lossy_netns, "packets": 10, "interval": 0.02, "reply_timeout": 0.3,
         "warning_loss": "10", "critical_loss": "95"},
        5.0,
    )  # fmt: skip
    loss = next(p.value for p in got.perfdata if p.label == "pl")
    assert loss is not None and 10 < loss < 95, got.output
    assert got.status == 1
    assert got.output.startswith(f"PING WARNING - {lossy_netns}: {loss:.0f}% packet loss")


@pytest.mark.slow
async def test_all_lost_is_critical(pingable: None, lossy_netns: str) -> None:
    got = await IcmpProbe().run(
        {"host": lossy_netns, "packets": 10, "interval": 0.01, "reply_timeout": 0.2}, 5.0
    )  # the first run takes the burst of 6
    got = await IcmpProbe().run(
        {"host": lossy_netns, "packets": 3, "interval": 0.01, "reply_timeout": 0.2,
         "warning_loss": None, "critical_loss": None},
        5.0,
    )  # fmt: skip
    assert got.status == 2
    assert got.output == f"PING CRITICAL - {lossy_netns}: 100% packet loss (3 sent, none answered)"


async def test_unprivileged_socket_refused_says_why() -> None:
    low, high = ping_groups()
    if low <= os.getegid() <= high:
        pytest.skip("datagram ICMP sockets are allowed for this group here")
    got = await IcmpProbe().run({"host": "127.0.0.1", "privileged": False, "packets": 1}, 5.0)
    assert got.status == 3
    assert "ICMP needs root or net.ipv4.ping_group_range" in got.output
    assert f"not allowed for group {os.getegid()}" in got.output


async def test_packets_must_fit_the_timeout() -> None:
    from augenmass.probes.base import OptionError

    with pytest.raises(OptionError, match="do not fit in the 1 s timeout"):
        await IcmpProbe().run({"host": "127.0.0.1", "packets": 20, "interval": 0.5}, 1.0)


def test_options_model() -> None:
    model = check_model("icmp")
    assert not isinstance(model, str)
    with pytest.raises(ValueError, match="Range format incorrect"):
        model.model_validate({"warning_rtt": "fast"})
    with pytest.raises(ValueError):
        model.model_validate({"packets": 0})
    dumped = model.model_validate({"critical_loss": 80}).model_dump()
    assert (dumped["critical_loss"], dumped["warning_rtt"], dumped["host"]) == (
        "80", "100", "$HOSTADDRESS$",
    )  # fmt: skip


async def test_through_the_runner_with_the_host_address(pingable: None, runner: Runner) -> None:
    result = await runner.run(
        job("icmp", {"packets": 2, "interval": 0.05}, macros={"HOSTADDRESS": "127.0.0.1"})
    )
    assert result.status == 0, result.output
    assert result.output.startswith("PING OK - 127.0.0.1: 0% packet loss")


@pytest.mark.slow
async def test_no_fd_or_task_leaks(pingable: None) -> None:
    probe = IcmpProbe()
    await probe.run({"host": "127.0.0.1", "packets": 1}, 5.0)
    fds, tasks = open_fds(), len(asyncio.all_tasks())
    for i in range(200):
        host = "127.0.0.1" if i % 2 else "::1"
        got = await probe.run({"host": host, "packets": 1, "reply_timeout": 0.5}, 5.0)
        assert got.status == 0
    assert open_fds() <= fds
    assert len(asyncio.all_tasks()) <= tasks


# ---- as a user that is not root: the server's own user under systemd ----------------------

AS_USER = """
import asyncio, json, logging, sys
from augenmass.probes.icmp import IcmpProbe
from augenmass.server.preflight import check_icmp
from augenmass.scheduler import JobTemplate
from augenmass.core.plan import CheckSpec
from augenmass.core.values import CheckKey
logging.basicConfig(stream=sys.stderr, format="%(message)s %(reason)s")
got = asyncio.run(IcmpProbe().run({"host": "127.0.0.1", "packets": 2, "interval": 0.05}, 5.0))
job = JobTemplate(CheckKey("h"), CheckSpec("icmp"), {}, 300.0)
print(json.dumps({"status": got.status, "output": got.output, "long_output": got.long_output,
                  "preflight": check_icmp([job])}))
"""


def _others_can_enter(path: Path) -> bool:
    """Every directory from / down to `path` can be entered by a user with no rights of its own."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))


def as_nobody(ping_groups: str, net_raw: bool) -> tuple[dict[str, object], str]:
    """Runs AS_USER as uid/gid 65534 in a network namespace of its own (its loopback only),
    with that namespace's net.ipv4.ping_group_range and, if asked, CAP_NET_RAW as systemd's
    AmbientCapabilities gives it."""
    need(os.geteuid() == 0, "switching users and namespaces needs root")
    need(bool(shutil.which("unshare") and shutil.which("setpriv")), "util-linux not installed")
    caps = ["--inh-caps", "+net_raw", "--ambient-caps", "+net_raw"] if net_raw else []
    src = str(Path(augenmass.__file__).resolve().parents[1])
    for path in (Path(src), Path(sys.prefix)):
        if not _others_can_enter(path):
            # where the checkout lies, not a missing part of the machine (a clone under a 0700
            # `mktemp -d` or home): uid 65534 cannot import the code it is to run
            pytest.skip(f"{path} is not reachable for other users, so not as uid 65534")
    inner = (
        f"ip link set lo up && sysctl -q -w net.ipv4.ping_group_range='{ping_groups}' && "
        f"PYTHONPATH={src} exec setpriv --reuid=65534 --regid=65534 --clear-groups "
        f'{" ".join(caps)} {sys.executable} -c "$0"'
    )
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", inner, AS_USER],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_as_a_user_with_cap_net_raw_raw_sockets() -> None:
    got, log = as_nobody("1 0", net_raw=True)  # the systemd unit: no ping group, the capability
    assert got["status"] == 0, got
    assert str(got["long_output"]).endswith("mode: raw socket")
    assert got["preflight"] == [] and log == ""


@pytest.mark.parametrize("net_raw", [False, True])
def test_as_a_user_in_ping_group_range_datagram_sockets(net_raw: bool) -> None:
    # preferred even with CAP_NET_RAW: the kernel gives each socket only its own replies
    got, log = as_nobody("65534 65534", net_raw=net_raw)
    assert got["status"] == 0, got
    assert str(got["long_output"]).endswith("mode: datagram socket")
    assert got["preflight"] == [] and log == ""


def test_as_a_user_allowed_neither_unknown_and_the_log_says_the_fix() -> None:
    got, log = as_nobody("1 0", net_raw=False)
    assert got["status"] == 3  # not CRITICAL: the host did not fail, our set-up did
    output = str(got["output"])
    assert output.startswith("PING UNKNOWN - unprivileged ICMP (datagram sockets) is not allowed")
    assert "AmbientCapabilities=CAP_NET_RAW" in output
    assert "sysctl -w net.ipv4.ping_group_range='65534 65534'" in output
    assert got["preflight"] == [output.removeprefix("PING UNKNOWN - ")]
    assert "icmp checks cannot open their socket" in log and "AmbientCapabilities" in log
