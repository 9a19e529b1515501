"""Fixtures for the local probes (disk, load, memory, mailqueue, icmp): a runner, a postfix
queue in a temp dir, a network namespace that drops pings."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_probe_helpers import need
from officenet import office_net

from augenmass.runner import Runner

NAGIOS = "/usr/lib/nagios/plugins"


@pytest.fixture
def runner() -> Runner:
    return Runner([NAGIOS], 65536)


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=20)


@pytest.fixture
def postfix_queue(tmp_path: Path) -> Iterator[Path]:
    """A Postfix configuration directory whose queue lives under tmp_path, empty, no daemons.
    postqueue -c DIR -j then lists it directly (as root; the master is not running)."""
    need(shutil.which("postqueue", path="/usr/sbin:/usr/bin") is not None, "postfix not installed")
    need(os.geteuid() == 0, "a private postfix queue needs root")
    conf, queue = tmp_path / "conf", tmp_path / "queue"
    conf.mkdir()
    queue.mkdir()
    (tmp_path / "data").mkdir()
    shutil.copy("/etc/postfix/master.cf", conf / "master.cf")
    (conf / "main.cf").write_text(
        "compatibility_level = 3.6\n"
        f"queue_directory = {queue}\n"
        f"data_directory = {tmp_path / 'data'}\n"
        "myhostname = monitor.example.test\n"
        "mydestination =\n"
        "inet_interfaces = loopback-only\n"
        # one flat directory per queue, so the test can move queue files between queues
        "hash_queue_names = flush\n"
        f"alternate_config_directories = {conf}\n"
    )
    _sh("/usr/sbin/postfix", "-c", str(conf), "post-install", "create-missing")
    yield conf


def _warm_up(address: str) -> None:
    """Wait (bounded) until the fresh link answers, so ARP and carrier do not count as loss."""
    from icmplib import ping  # type: ignore[import-untyped]

    for _ in range(30):
        if ping(address, count=1, timeout=0.1, privileged=True).packets_received:
            return
    need(False, f"the namespace at {address} never answered a ping")


@pytest.fixture
def lossy_netns() -> Iterator[str]:
    """A network namespace behind a veth pair; returns the namespace side's address, which
    answers pings but rate-limits its echo replies (a burst of 6, then one per 10 s)."""
    with office_net([2], kind="lp", octet=213) as net:
        address = net.address(2)
        _warm_up(address)
        # echo replies (ICMP type 0, bit 0 of the mask) go through the kernel's rate limit
        _sh(*net.inside, "sysctl", "-q", "-w", "net.ipv4.icmp_ratemask=1")
        _sh(*net.inside, "sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=10000")
        yield address
