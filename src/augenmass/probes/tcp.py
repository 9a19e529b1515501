"""`tcp`: connect to host:port, time the connect, close. Kept lean: one non-blocking socket and
loop.sock_connect, no streams; IP literals skip the resolver entirely.

Options: host (default $HOSTADDRESS$), port (required), warning / critical (ranges on the connect
time in seconds), timeout (seconds, at most the check's timeout).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from augenmass.config.checks import CheckModel
from augenmass.config.fields import Text, Threshold
from augenmass.model import PerfDatum
from augenmass.probes.base import CRITICAL, OptionError, ProbeOutcome

_LABELS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
_Address = tuple[int, tuple[Any, ...]]  # (family, sockaddr)


class TcpOptions(CheckModel):
    host: Text = "$HOSTADDRESS$"
    port: int = Field(ge=1, le=65535)
    warning: Threshold | None = None  # connect time in seconds
    critical: Threshold | None = None


class TcpProbe:
    type = "tcp"
    Options = TcpOptions
    defaults: ClassVar[Mapping[str, Any]] = {"host": "$HOSTADDRESS$"}

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        host = str(options.get("host") or "").strip()
        if not host:
            raise OptionError("tcp: no host (set `host` or the host's address)")
        port = _port(options.get("port"))
        budget = _budget(options.get("timeout"), timeout)
        warn_text, crit_text = _text(options.get("warning")), _text(options.get("critical"))
        ranges = _ranges(warn_text, crit_text)  # bad thresholds fail before any traffic
        where = f"{host} port {port}"
        try:
            async with asyncio.timeout(budget):
                elapsed = await _connect(await _resolve(host, port))
        except TimeoutError:
            return ProbeOutcome(CRITICAL, f"TCP CRITICAL - timed out after {budget:g} s on {where}")
        except socket.gaierror as exc:
            return ProbeOutcome(CRITICAL, f"TCP CRITICAL - cannot resolve {host}: {exc.strerror}")
        except ConnectionRefusedError:
            return ProbeOutcome(CRITICAL, f"TCP CRITICAL - Connection refused on {where}")
        except OSError as exc:
            return ProbeOutcome(CRITICAL, f"TCP CRITICAL - {exc.strerror or exc} on {where}")
        status = _evaluate(elapsed, ranges)
        return ProbeOutcome(
            status=status,
            output=f"TCP {_LABELS[status]} - {elapsed:.3f} second response time on {where}",
            perfdata=(PerfDatum("time", elapsed, "s", warn_text, crit_text, 0.0, budget),),
        )


def _port(raw: Any) -> int:
    try:
        port = int(raw)
    except (TypeError, ValueError):
        raise OptionError(f"tcp: port must be a number 1..65535, not {raw!r}") from None
    if isinstance(raw, bool) or not 1 <= port <= 65535:
        raise OptionError(f"tcp: port must be a number 1..65535, not {raw!r}")
    return port


def _budget(raw: Any, timeout: float) -> float:
    if raw is None:
        return timeout
    try:
        return max(0.001, min(float(raw), timeout))
    except (TypeError, ValueError):
        raise OptionError(f"tcp: timeout must be a number of seconds, not {raw!r}") from None


def _text(raw: Any) -> str | None:
    return None if raw is None or raw == "" else str(raw)


def _ranges(warn: str | None, crit: str | None) -> tuple[Any, Any]:
    if warn is None and crit is None:
        return None, None
    from augenmass.thresholds import parse_range  # lazy: only checks with thresholds need it

    try:
        return (
            None if warn is None else parse_range(warn),
            None if crit is None else parse_range(crit),
        )
    except ValueError as exc:
        raise OptionError(f"tcp: {exc}") from None


def _evaluate(elapsed: float, ranges: tuple[Any, Any]) -> int:
    warn, crit = ranges
    if warn is None and crit is None:
        return 0
    from augenmass.thresholds import evaluate

    return int(evaluate(elapsed, warn, crit))


async def _resolve(host: str, port: int) -> list[_Address]:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and "%" not in host:
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        return [(family, (host, port))]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(info[0], info[4]) for info in infos]


async def _connect(addresses: list[_Address]) -> float:
    """Seconds the first successful connect took; the last error if every address fails."""
    loop = asyncio.get_running_loop()
    error: OSError = OSError("no address to connect to")
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            started = time.perf_counter()
            await loop.sock_connect(sock, sockaddr)
            return time.perf_counter() - started
        except OSError as exc:
            error = exc
        finally:
            sock.close()
    raise error
