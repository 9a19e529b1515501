"""Disk-full figures: what the server does while its data directory's disk is full.

    .venv/bin/python bench/bench_disk_full.py [SECONDS_FULL] [SERVICES]

Needs root (it mounts a 32 MiB tmpfs for the data directory). The real `augenmass run` with
SERVICES (default 50) plugin services flipping every few seconds and a real SMTP server on
127.0.0.1; the disk is filled twice (the first time the server gives up its reserve), then left
full for SECONDS_FULL (default 60) and freed. Prints checks done while full, what waited in
memory, and how long the backlog took to drain.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "support")]

from smalldisk import fill  # noqa: E402

from e2e.helpers import ServerProcess, wait_for  # noqa: E402
from notify.helpers import MailServer, free_port  # noqa: E402

FLIP = """#!/bin/sh
if [ $(( ($(date +%s) + $1) / 3 % 2 )) -eq 0 ]; then echo "OK"; exit 0; fi
echo "CRITICAL"; exit 2
"""


def main() -> None:
    full_for = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    services = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    smtp = MailServer(free_port())
    smtp.accept()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        disk = tmp / "disk"
        disk.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(disk)], check=True)
        try:
            plugin = tmp / "flip.sh"
            plugin.write_text(FLIP)
            plugin.chmod(0o755)
            lines = "\n".join(
                f"  - {{name: s{n}, host: app,"
                f" check: {{type: plugin, command: [{plugin}, '{n}']}}}}"
                for n in range(services)
            )
            cfg = tmp / "c.yaml"
            cfg.write_text(f"""
settings: {{max_check_spread: 1s, disk_reserve_mb: 4}}
defaults: {{check_interval: 1s, max_check_attempts: 1, contacts: [ops]}}
notifications:
  smtp: {{host: 127.0.0.1, port: {smtp.port}, from: monitor@example.org}}
  group_wait: 1s
contacts: {{ops: {{email: ops@example.org}}}}
hosts: {{app: {{address: 127.0.0.1}}}}
services:
{lines}
""")
            server = ServerProcess(cfg, disk / "data")
            server.log = tmp / "server.log"
            server.start()
            try:
                time.sleep(5)
                fill(disk / "f1")
                wait_for(lambda: "gave up the disk reserve" in server.log.read_text(), 60, "")
                wait_for(lambda: not server.health()["store"]["degraded"], 60, "recovery")
                fill(disk / "f2")
                wait_for(lambda: server.health()["store"]["degraded"], 120, "full again")
                before = server.health()["scheduler"]["checks_completed"]
                mails_before = len(smtp.received())
                time.sleep(full_for)
                health = server.health()
                done = health["scheduler"]["checks_completed"] - before
                waiting = health["store"]["waiting"]
                mails = len(smtp.received()) - mails_before
                (disk / "f1").unlink()
                (disk / "f2").unlink()
                freed = time.monotonic()
                wait_for(lambda: not server.health()["store"]["degraded"], 120, "drain", 0.05)
                drained = time.monotonic() - freed
            finally:
                server.stop()
            print(f"services={services} full_for={full_for:.0f}s")
            print(f"checks done while full={done} ({done / full_for:.1f}/s)")
            print(f"waiting in memory at the end={waiting}")
            print(f"mails sent while full={mails}; drain after space returned={drained:.2f}s")
            print(f"store: {health['store']}")
        finally:
            subprocess.run(["umount", "-l", str(disk)], check=False)
            smtp.refuse()


if __name__ == "__main__":
    main()
