"""Run inside a fresh network namespace (`unshare -n`): only `lo`, so no packet can leave.

Puts the metadata addresses on `lo` with TCP, UDP and ICMP listeners that record anything that
reaches them, runs every network probe against each address, and prints one JSON document:
the outcomes and what the listeners saw. Used by test_netpolicy_all.py."""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from augenmass.probes import load_probe

ADDRESSES = ("169.254.169.254", "168.63.129.16", "192.0.0.192")
# names the test's /etc/hosts (bind-mounted in the jail) points at metadata addresses, as
# GCP's metadata.google.internal resolves to 169.254.169.254
NAMES = ("metadata.google.internal",)
TCP_PORTS = (25, 53, 80, 143, 443, 5060, 7000)
UDP_PORTS = (53, 161, 5060)
SNMP_OID = "1.3.6.1.2.1.1.3.0"


def cases(address: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, probe type, options) for every network probe."""
    return [
        ("tcp", "tcp", {"host": address, "port": 7000}),
        ("tcp-send", "tcp", {"host": address, "port": 7000, "send": "hello\n", "banner": True}),
        ("smtp", "smtp", {"host": address, "port": 25}),
        ("imap", "imap", {"host": address, "port": 143}),
        ("pop3", "pop3", {"host": address, "port": 110}),
        ("sip-udp", "sip", {"host": address, "transport": "udp"}),
        ("sip-tcp", "sip", {"host": address, "transport": "tcp"}),
        ("snmp-v2c", "snmp", {"host": address, "oid": SNMP_OID, "retries": 0}),
        ("snmp-v1", "snmp", {"host": address, "oid": SNMP_OID, "version": "1", "retries": 0}),
        ("icmp", "icmp", {"host": address, "packets": 1, "privileged": True}),
        ("dns", "dns", {"server": address, "name": "example.com"}),
        ("dns-tcp", "dns", {"server": address, "name": "example.com", "transport": "tcp"}),
        ("http", "http", {"url": f"http://{address}/"}),
        ("tls", "tls", {"host": address, "port": 443}),
    ]


class Seen:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self.lock = threading.Lock()

    def add(self, what: str) -> None:
        with self.lock:
            self.hits.append(what)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, seen: Seen, where: str) -> None:
        self.seen, self.where = seen, where

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.seen.add(f"udp {self.where}")


def _icmp_watch(seen: Seen, stop: threading.Event) -> None:
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    while not stop.is_set():
        ready, _, _ = select.select([raw], [], [], 0.05)
        if not ready:
            continue
        packet = raw.recv(65535)
        header = (packet[0] & 0x0F) * 4
        dest = socket.inet_ntoa(packet[16:20])
        if packet[header] == 8 and dest in ADDRESSES:  # an echo request to a watched address
            seen.add(f"icmp {dest}")
    raw.close()


async def main() -> dict[str, Any]:
    seen = Seen()
    accepted = asyncio.Event()
    loop = asyncio.get_running_loop()
    servers = []
    for address in ADDRESSES:
        for port in TCP_PORTS:

            async def accept(r: Any, w: Any, where: str = f"{address}:{port}") -> None:
                seen.add(f"tcp {where}")
                accepted.set()
                w.close()

            servers.append(await asyncio.start_server(accept, address, port))
        for port in UDP_PORTS:
            transport, _ = await loop.create_datagram_endpoint(
                lambda where=f"{address}:{port}": _Udp(seen, where), local_addr=(address, port)
            )
            servers.append(transport)
    stop = threading.Event()
    watcher = threading.Thread(target=_icmp_watch, args=(seen, stop), daemon=True)
    watcher.start()
    outcomes: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    targets = ADDRESSES + (NAMES if os.environ.get("JAIL_NAMES") == "1" else ())
    for address in targets:
        for label, kind, options in cases(address):
            try:
                got = await load_probe(kind).run(options, 2.0)
                outcomes[f"{label} {address}"] = {"status": got.status, "output": got.output}
            except Exception as exc:  # an option error would be a test bug: show it
                outcomes[f"{label} {address}"] = {"status": 3, "output": f"raised {exc!r}"}
    refused_seconds = time.perf_counter() - started
    await asyncio.sleep(0.2)  # an ICMP echo or a late datagram would have arrived by now
    refused_hits = list(seen.hits)
    # the control: allowed explicitly, the same probe does connect, and the listener sees it
    allowed = await load_probe("tcp").run(
        {"host": ADDRESSES[0], "port": 7000, "allow_link_local": True}, 2.0
    )
    try:
        async with asyncio.timeout(2.0):
            await accepted.wait()
    except TimeoutError:
        pass  # the test then says the listener saw nothing
    # the UDP and ICMP listeners are proved the same way (no SIP answer comes: a short timeout)
    await load_probe("sip").run(
        {"host": ADDRESSES[0], "transport": "udp", "allow_link_local": True}, 0.3
    )
    await load_probe("icmp").run(
        {"host": ADDRESSES[0], "packets": 1, "privileged": True, "allow_link_local": True}, 1.0
    )
    await asyncio.sleep(0.2)  # the ICMP watcher thread polls every 50 ms
    stop.set()
    watcher.join(2.0)
    for server in servers:
        server.close()
    return {
        "outcomes": outcomes,
        "refused_hits": refused_hits,
        "refused_seconds": refused_seconds,
        "allowed": {"status": allowed.status, "output": allowed.output},
        "allowed_hits": seen.hits[len(refused_hits) :],
    }


if __name__ == "__main__":
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for address in ADDRESSES:
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", "lo"], check=True)
    json.dump(asyncio.run(main()), sys.stdout)
