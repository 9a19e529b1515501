"""How long `load_config` (YAML → Plan) takes on large generated configurations, and its peak RSS.

The configurations look like a real installation grown large: sites of about 50 servers behind
a router (`parents:`), servers in three roles (web, database, mail) built from a chain of
templates (`use:`), three services on every Linux server from apply rules (`hosts: {tag: ...}`)
and two written per server with the role's checks, contacts and groups, time periods,
escalations and notification rules, as in `examples/config`. Every server has exactly five
services, so the total is the number asked for.

    python bench/config_load.py                       # 10,000 and 50,000 services
    python bench/config_load.py --services 50000 --layout dir --style block --profile 25

Each size is loaded in a fresh process (peak RSS is the child's VmHWM), three times; the
best and the worst wall time and the least CPU time (user + system) of the load are printed.
Nothing is sent anywhere: the config is only loaded.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

SERVICES_PER_SERVER = 5
SERVERS_PER_SITE = 50
ROLES = ("web", "db", "mail")

HEAD = """\
settings:
  timezone: Europe/Berlin
  max_concurrent_checks: 256
  retention: {raw: 48h, five_minute: 30d, hourly: 730d}
  status_page: {title: "Status", groups: [Websites, Mail]}

notifications:
  smtp: {host: 127.0.0.1, port: 25, security: none, from: augenmass@example.org}
  group_wait: 10s
  group_interval: 30s

defaults:
  check_interval: 5m
  retry_interval: 1m
  max_check_attempts: 3
  notification_interval: 2h
  notify: [ops]

timeperiods:
  office-hours:
    monday-friday: "08:00-18:00"
    exclude: [holidays]
  holidays:
    dates: ["2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01"]

contacts:
{contacts}
contact_groups:
  ops: [{ops}]
  web-team: [{web}]
  db-team: [{db}]
  mail-team: [{mail}]
  management: [contact-000]

templates:
  generic-host:
    check: {type: tcp, port: 22, timeout: 5s}
    check_interval: 1m
    retry_interval: 20s
    max_check_attempts: 3
  linux-server:
    use: generic-host
    groups: [linux-servers]
    vars: {os: debian, ssh_port: "22"}
  web-server: {use: linux-server, notify: [web-team], vars: {vhost: www.example.org}}
  db-server: {use: linux-server, notify: [db-team], vars: {db_port: "5432"}}
  mail-server: {use: linux-server, notify: [mail-team]}
  router:
    check: {type: icmp, packets: 3, warning_rtt: "100", critical_loss: "50"}
    check_interval: 2m
    notify: [ops]
  generic-service:
    check_interval: 5m
    retry_interval: 1m
    max_check_attempts: 3
    notification_period: 24x7
  website:
    use: generic-service
    check_interval: 1m
    retry_interval: 20s
    escalations:
      - {first: 3, notify: [management], replace: false}
  certificate: {use: generic-service, check_interval: 6h}
  database: {use: generic-service, notify: [db-team], first_notification_delay: 5m}
  mailbox: {use: generic-service, notify: [mail-team], notification_period: office-hours}
"""

APPLIED = """\
  - name: disk
    use: generic-service
    hosts: {tag: linux}
    check:
      type: plugin
      command: [check_disk, -w, "$ARG1$", -c, "$ARG2$", -p, /]
      args: ["10%", "5%"]
  - name: load
    use: generic-service
    hosts: {tag: linux}
    check: {type: plugin, command: [check_load, -w, "4,3,2", -c, "8,6,4"]}
  - name: ssh
    use: generic-service
    hosts: {tag: linux}
    ignore: {group: no-ssh}
    check: {type: tcp, port: 22, expect: [SSH-], warning: "1", critical: "3"}
"""
RULES = """\
notification_rules:
  - match: {check_type: tls}
    notify: [web-team]
  - match: {host_group: db-servers, service: "db-*"}
    notify: [management]
"""


def _site(index: int) -> str:
    return f"site{index:04d}"


def _router(site: int) -> str:
    return f"gw-{_site(site)}"


def _server(number: int) -> tuple[str, str]:
    role = ROLES[number % len(ROLES)]
    return role, f"{role}{number:06d}.{_site(number // SERVERS_PER_SITE)}"


def _address(number: int) -> str:
    # only ever loaded, never contacted; loopback anyway so a run of it would stay local
    return f"127.{(number >> 16) & 255}.{(number >> 8) & 255}.{(number & 255) or 1}"


def host_lines(first: int, last: int) -> list[str]:
    lines = ["hosts:"]
    for number in range(first, last):
        if number % SERVERS_PER_SITE == 0:
            site = number // SERVERS_PER_SITE
            lines.append(
                f"  {_router(site)}: {{use: router, address: {_address(site)}, "
                f"groups: [routers], tags: [network, {_site(site)}]}}"
            )
        role, name = _server(number)
        extra = ", display_name: Primary web" if number % 97 == 0 else ""
        lines.append(
            f"  {name}: {{use: {role}-server, address: {_address(number)}, "
            f"parents: [{_router(number // SERVERS_PER_SITE)}], tags: [linux, {role}], "
            f"groups: [{role}-servers], vars: {{rack: r{number % 40:02d}}}{extra}}}"
        )
    return lines


def service_lines(first: int, last: int) -> list[str]:
    lines = ["services:"]
    for number in range(first, last):
        role, host = _server(number)
        if role == "web":
            lines += [
                f"  - {{name: website, host: {host}, use: website, public: "
                f"{{name: Website {number}, group: Websites}}, check: {{type: http, "
                f'url: "https://$HOSTADDRESS$/health", contains: ok, critical: "5"}}}}',
                f"  - {{name: certificate, host: {host}, use: certificate, "
                f'check: {{type: tls, port: 443, warning: "30:", critical: "14:"}}}}',
            ]
        elif role == "db":
            lines += [
                f"  - {{name: db-port, host: {host}, use: database, check: {{type: tcp, "
                f'port: 5432, warning: "0.5", critical: "2"}}}}',
                f"  - {{name: db-replication, host: {host}, use: database, check: "
                f"{{type: plugin, command: [check_pgsql, -H, $HOSTADDRESS$, -P, "
                f'"$_HOSTDB_PORT$", -w, "$ARG1$"], args: ["30"], timeout: 20s}}}}',
            ]
        else:
            lines += [
                f"  - {{name: smtp, host: {host}, use: mailbox, check: {{type: smtp, "
                f'tls: starttls, warning: "2", critical: "5"}}}}',
                f"  - {{name: imap, host: {host}, use: mailbox, check: {{type: imap, "
                f"port: 993, tls: implicit}}}}",
            ]
    return lines


def _block(lines: list[str]) -> list[str]:
    """The same YAML lines in block style (one key per line, as many people write it)."""
    import yaml

    header, items = lines[0], "\n".join(lines[1:])
    data = yaml.load(f"x:\n{items}", Loader=yaml.CSafeLoader)["x"]
    text = yaml.dump(data, Dumper=yaml.CSafeDumper, default_flow_style=False, sort_keys=False)
    return [header, *("  " + line for line in text.splitlines())]


def write_config(
    path: Path, services: int, layout: str = "file", per_file: int = 1000, style: str = "flow"
) -> Path:
    """A config of exactly `services` services (a multiple of 5) at `path`: one file
    (`layout="file"`, path is the file) or a directory of files (`"dir"`, path is the directory).
    `style="block"` writes hosts and services one key per line instead of a line each.
    """
    if services % SERVICES_PER_SERVER:
        raise ValueError(f"services must be a multiple of {SERVICES_PER_SERVER}")
    servers = services // SERVICES_PER_SERVER
    people = [f"contact-{i:03d}" for i in range(40)]
    contacts = "".join(
        f"  {name}: {{email: {name}@example.org, language: {'de' if i % 2 else 'en'}}}\n"
        for i, name in enumerate(people)
    )
    head = HEAD
    for key, value in {
        "{contacts}": contacts,
        "{ops}": ", ".join(people[:5]),
        "{web}": ", ".join(people[5:15]),
        "{db}": ", ".join(people[15:25]),
        "{mail}": ", ".join(people[25:40]),
    }.items():
        head = head.replace(key, value)
    hosts_of, services_of = host_lines, service_lines
    if style == "block":

        def hosts_of(first: int, last: int) -> list[str]:
            return _block(host_lines(first, last))

        def services_of(first: int, last: int) -> list[str]:
            return _block(service_lines(first, last))

    if layout == "file":
        services_part = services_of(0, servers)
        hosts_part = hosts_of(0, servers)
        text = "\n".join([head, RULES, *hosts_part, services_part[0], APPLIED, *services_part[1:]])
        path.write_text(text + "\n")
        return path
    path.mkdir(parents=True, exist_ok=True)
    (path / "00-base.yaml").write_text(f"{head}\n{RULES}\nservices:\n{APPLIED}")
    for part, first in enumerate(range(0, servers, per_file)):
        last = min(servers, first + per_file)
        (path / f"10-hosts-{part:03d}.yaml").write_text("\n".join(hosts_of(first, last)) + "\n")
        text = "\n".join(services_of(first, last)) + "\n"
        (path / f"20-services-{part:03d}.yaml").write_text(text)
    return path


_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from augenmass.config import load_config
t1 = time.perf_counter()
c1 = time.process_time()
plan = load_config(sys.argv[1])
t2 = time.perf_counter()
c2 = time.process_time()
# VmHWM, not ru_maxrss: ru_maxrss counts the parent's pages at fork time, before the exec
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "cpu": c2 - c1, "hosts": len(plan.hosts),
    "services": len(plan.services), "rss_mb": int(hwm.split()[1]) / 1024}))
"""


def measure(path: Path) -> dict[str, float]:
    """One load in a fresh process: seconds and peak RSS of that process."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def profile(path: Path, top: int) -> None:
    import cProfile
    import pstats

    from augenmass.config import load_config

    profiler = cProfile.Profile()
    profiler.enable()
    load_config(path)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, nargs="*", default=[10_000, 50_000])
    parser.add_argument("--layout", choices=("file", "dir"), default="file")
    parser.add_argument("--style", choices=("flow", "block"), default="flow")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=int, metavar="TOP", help="cProfile one load instead")
    args = parser.parse_args()
    print(f"# {platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    with tempfile.TemporaryDirectory(prefix="augenmass-config-bench-") as tmp:
        for services in args.services:
            suffix = ".yaml" if args.layout == "file" else ""
            target = Path(tmp) / f"c{services}{suffix}"
            path = write_config(target, services, args.layout, style=args.style)
            size = sum(p.stat().st_size for p in ([path] if path.is_file() else path.iterdir()))
            if args.profile:
                profile(path, args.profile)
                continue
            runs = [measure(path) for _ in range(max(1, args.runs))]
            loads = sorted(r["load"] for r in runs)
            cpu = min(r["cpu"] for r in runs)
            print(
                f"{runs[0]['services']:>7,} services, {runs[0]['hosts']:>6,} hosts, "
                f"{size / 1e6:5.1f} MB ({args.layout}, {args.style}): load {loads[0]:.2f} s "
                f"(worst of {len(runs)}: {loads[-1]:.2f} s, CPU {cpu:.2f} s), "
                f"import {runs[0]['import']:.2f} s, "
                f"peak RSS {max(r['rss_mb'] for r in runs):.0f} MB"
            )


if __name__ == "__main__":
    main()
