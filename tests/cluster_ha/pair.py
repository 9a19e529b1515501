"""Two real `augenmass run` processes on one PostgreSQL schema: active/standby as deployed,
each with its own data directory, port and node name (used by the tests and
bench/bench_takeover.py)."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e.helpers import ServerProcess, wait_for

# Short lease timing so twenty takeovers fit in a test (the defaults are ttl 10 s, renew 3 s).
CLUSTER = "cluster:\n  lease: {ttl: 1500ms, renew: 500ms}\n"


def make_pair(
    tmp: Path, config: Path, store: str, names: tuple[str, ...] = ("a", "b")
) -> list[ServerProcess]:
    return [
        ServerProcess(config, tmp / f"data-{name}", store=store, args=("--node", name))
        for name in names
    ]


def cluster(server: ServerProcess) -> dict[str, Any]:
    return dict(server.health()["ha"])


def role(server: ServerProcess) -> str:
    try:
        return str(cluster(server)["role"])
    except (OSError, AssertionError):
        return "down"


def active_of(servers: list[ServerProcess], bound: float = 30) -> ServerProcess:
    """The one active server, once there is exactly one."""

    def one() -> ServerProcess | None:
        found = [s for s in servers if role(s) == "active"]
        return found[0] if len(found) == 1 else None

    return wait_for(one, bound, "exactly one active server", step=0.05)  # type: ignore[no-any-return]


def api(server: ServerProcess, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/api{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def pause(server: ServerProcess) -> None:
    assert server.proc is not None
    os.killpg(server.proc.pid, signal.SIGSTOP)


def resume(server: ServerProcess) -> None:
    assert server.proc is not None
    os.killpg(server.proc.pid, signal.SIGCONT)


@dataclass
class Takeovers:
    seconds: list[float] = field(default_factory=list)  # kill -9 → the other one active
    first_check: list[float] = field(default_factory=list)  # kill -9 → its first check done


def kill_loop(servers: list[ServerProcess], rounds: int, seed_waits: list[float]) -> Takeovers:
    """kill -9 the active server `rounds` times (after the given waits) while another stands
    by; once a standby acts with a new token, the killed one starts again in the background
    (with three servers its start-up overlaps the next round) and stands by."""
    out = Takeovers()
    restarts: dict[int, Future[ServerProcess]] = {}
    with ThreadPoolExecutor(len(servers)) as pool:
        for n in range(rounds):
            active = active_of(servers)
            if id(active) in restarts:
                restarts.pop(id(active)).result()
            token = int(cluster(active)["token"])
            wait_for(
                lambda a=active: any(role(s) == "standby" for s in servers if s is not a),
                30,
                "a standby",
                step=0.05,
            )
            time.sleep(seed_waits[n % len(seed_waits)])
            began = time.monotonic()
            active.kill9()
            new = wait_for(lambda t=token: _taken(servers, t), 30, "the takeover", step=0.02)
            out.seconds.append(time.monotonic() - began)
            # started again only now: a node restarted at once retakes its own lease (it needs
            # no expiry), and this measures the standby taking over from a lost machine
            restarts[id(active)] = pool.submit(active.start)
            wait_for(
                lambda s=new: s.health()["scheduler"]["checks_completed"] > 0,
                30,
                "the new active server's first check",
                step=0.02,
            )
            out.first_check.append(time.monotonic() - began)
        for fut in restarts.values():
            fut.result()
    return out


def _taken(servers: list[ServerProcess], token: int) -> ServerProcess | None:
    for server in servers:
        try:
            found = cluster(server)
        except Exception:  # being restarted
            continue
        if found["role"] == "active" and int(found["token"]) > token:
            return server
    return None
