"""`augenmass init`: a first configuration that watches what exists on this machine.

A newcomer's `make run` should show a working, mostly green page within a minute, not the
example organisation's hosts that do not exist here. So this looks around once and writes a
commented YAML file: this machine's disks, load and memory; its mail queue when an MTA is
installed; the local services that answer on their usual ports (SSH, SMTP, HTTP(S), databases
...); the server's own web UI. No contacts and no mail relay: nothing is sent until someone adds
them (the web UI says so). The organisation example (examples/config) is the next step.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Ports whose service is checked when something answers on 127.0.0.1, with the check that
# suits it (a protocol probe where there is one, else a TCP connect).
KNOWN_PORTS: dict[int, tuple[str, str]] = {
    22: ("ssh", "{type: tcp, port: 22, expect: SSH-}"),
    25: ("smtp", "{type: smtp, port: 25}"),
    80: ("http", "{type: http, url: 'http://127.0.0.1/', critical: '5'}"),
    443: ("https", "{type: tls, port: 443, warning: '30:', critical: '14:', verify: false}"),
    143: ("imap", "{type: imap, port: 143}"),
    993: ("imaps", "{type: imap, port: 993, tls: implicit}"),
    3306: ("mysql", "{type: tcp, port: 3306}"),
    5432: ("postgresql", "{type: tcp, port: 5432}"),
    6379: ("redis", "{type: tcp, port: 6379}"),
    5060: ("sip", "{type: tcp, port: 5060}"),
}


@dataclass(frozen=True, slots=True)
class Found:
    mta: str | None  # postfix | exim | None
    ports: tuple[int, ...]  # known ports that answered on 127.0.0.1


def answers(port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def _queue_readable(argv: list[str]) -> bool:
    """The MTA answers a queue listing (installed but stopped, it would be CRITICAL at once)."""
    try:
        done = subprocess.run(argv, capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0  # the output (addresses) is never read


def find_mta() -> str | None:
    postqueue = shutil.which("postqueue", path=_PATH)
    if postqueue and _queue_readable([postqueue, "-p"]):
        return "postfix"
    exim = shutil.which("exim", path=_PATH) or shutil.which("exim4", path=_PATH)
    if exim and _queue_readable([exim, "-bpc"]):
        return "exim"
    return None


def look_around(ports: Iterable[int] = KNOWN_PORTS, skip: Iterable[int] = ()) -> Found:
    skipped = set(skip)
    return Found(find_mta(), tuple(p for p in ports if p not in skipped and answers(p)))


def render(found: Found, listen: str, ports: dict[int, tuple[str, str]] | None = None) -> str:
    known = KNOWN_PORTS if ports is None else ports
    host, _, port = listen.rpartition(":")
    ui = f"http://{host or '127.0.0.1'}:{port}/status"
    lines = [
        "# augenmass: a first configuration, written by `augenmass init` for this machine.",
        "# It watches what was found here; edit it freely (`augenmass check-config` checks it,",
        "# `augenmass reload` or SIGHUP applies it). Next steps: your own hosts and services,",
        "# contacts and a mail relay, as in examples/config (docs/configuration.md has every key).",
        "",
        "settings:",
        "  max_check_spread: 10s     # the first checks within seconds, not spread over minutes",
        "  default_host_check: none  # pinging needs raw sockets; this machine is assumed UP",
        "",
        "defaults:",
        "  check_interval: 1m",
        "  retry_interval: 20s",
        "  max_check_attempts: 3",
        "",
        "hosts:",
        "  this-machine:",
        "    address: 127.0.0.1",
        "    display_name: this machine",
        "",
        "services:",
        "  - name: disk",
        "    host: this-machine",
        "    check: {type: disk, used_warning: '85', used_critical: '95'}",
        "  - name: load",
        "    host: this-machine",
        "    check: {type: load, per_cpu: true, warning: '2', critical: '4'}",
        "  - name: memory",
        "    host: this-machine",
        "    check: {type: memory, used_warning: '90', used_critical: '97'}",
        "  - name: augenmass web UI",
        "    host: this-machine",
        f"    check: {{type: http, url: '{ui}', critical: '5'}}",
    ]
    if found.mta is not None:
        lines += [
            "  - name: mail queue",
            "    host: this-machine",
            f"    check: {{type: mailqueue, mta: {found.mta}, warning: '50', critical: '200'}}",
        ]
    for p in found.ports:
        name, check = known[p]
        lines += [
            f"  - name: {name}",
            "    host: this-machine",
            f"    check: {check}",
        ]
    lines += [
        "",
        "# No contacts yet: nobody is told about a problem. For mails, add a relay and contacts:",
        "# notifications:",
        "#   smtp: {host: mail.example.org, port: 587, security: starttls, username: monitor,",
        '#          password: "${SMTP_PASSWORD}", from: monitor@example.org}',
        "# contacts:",
        "#   admin: {email: admin@example.org}",
        "# contact_groups:",
        "#   admins: [admin]",
        "# defaults: {notify: [admins]}   # (merge into the defaults above)",
        "",
    ]
    return "\n".join(lines)


def write(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "augenmass.yaml"
    tmp = directory / ".augenmass.yaml.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target
