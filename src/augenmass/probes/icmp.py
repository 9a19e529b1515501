"""`icmp`: ping a host with ICMP echo requests (icmplib), report round-trip times and loss.

Thresholds follow check_ping's "-w 100,20% -c 500,60%" split into two pairs of ranges:
`warning_rtt`/`critical_rtt` on the average round-trip time in MILLISECONDS (as check_ping's
rta and its perfdata), `warning_loss`/`critical_loss` on the packet loss in percent. All
packets lost is CRITICAL whatever the thresholds say.

Sockets: Linux's unprivileged datagram ICMP sockets where the kernel allows them for our group
(net.ipv4.ping_group_range), as iputils' ping does; otherwise, as root or with CAP_NET_RAW (the
systemd unit grants it), raw ICMP sockets. `privileged` overrides the choice. A socket we may
not open is UNKNOWN with the reason and the fix (a monitoring set-up problem, not the host being
down); `socket_problem()` tells the server so once at start, as every host check would fail
alike.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from augenmass.core.fields import Text, Threshold
from augenmass.core.options import CheckModel
from augenmass.core.thresholds import parse_range
from augenmass.probes import netpolicy
from augenmass.probes.base import CRITICAL, UNKNOWN, OptionError, ProbeBase, ProbeOutcome
from augenmass.probes.levels import LABELS, Levels, flag, number, worst

RTT_WARNING, RTT_CRITICAL = "100", "500"
LOSS_WARNING, LOSS_CRITICAL = "20", "60"
PING_GROUP_RANGE = "/proc/sys/net/ipv4/ping_group_range"


class IcmpOptions(CheckModel):
    host: Text = Field(default="$HOSTADDRESS$", description="Address or name to ping.")
    packets: int = Field(default=5, ge=1, le=100, description="Echo requests to send.")
    interval: float = Field(
        default=0.2, ge=0.01, le=10.0, description="Seconds between two requests."
    )
    reply_timeout: float = Field(
        default=1.0,
        gt=0.0,
        le=30.0,
        description="Seconds to wait for each reply (shortened to fit the check's timeout).",
    )
    warning_rtt: Threshold | None = Field(
        default=RTT_WARNING,
        description="Range on the average round-trip time in milliseconds; '100' alerts "
        "above 100 ms.",
    )
    critical_rtt: Threshold | None = Field(default=RTT_CRITICAL, description="As warning_rtt.")
    warning_loss: Threshold | None = Field(
        default=LOSS_WARNING,
        description="Range on the packet loss in percent; '20' alerts above 20 %.",
    )
    critical_loss: Threshold | None = Field(default=LOSS_CRITICAL, description="As warning_loss.")
    privileged: bool | None = Field(
        default=None,
        description="true: raw sockets (root or CAP_NET_RAW); false: unprivileged datagram "
        "sockets (needs net.ipv4.ping_group_range); unset: datagram sockets when "
        "net.ipv4.ping_group_range allows the server's group (as ping does), else raw ones when "
        "running as root or with CAP_NET_RAW.",
    )
    allow_link_local: bool = Field(
        default=False, description="Allow link-local and cloud metadata addresses."
    )


class IcmpProbe(ProbeBase):
    type = "icmp"
    Options = IcmpOptions
    defaults: ClassVar[Mapping[str, Any]] = {"host": "$HOSTADDRESS$"}

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        host = str(options.get("host") or "").strip()
        if not host:
            raise OptionError("icmp: no host (set `host` or the host's address)")
        count = int(number(options, "packets", "icmp", 5))
        if not 1 <= count <= 100:
            raise OptionError(f"icmp: packets must be 1..100, not {count}")
        interval = max(0.01, number(options, "interval", "icmp", 0.2))
        budget = max(0.05, min(number(options, "timeout", "icmp", timeout), timeout))
        wait = _reply_wait(number(options, "reply_timeout", "icmp", 1.0), count, interval, budget)
        rtt = _pair(options, "rtt", RTT_WARNING, RTT_CRITICAL)
        loss = _pair(options, "loss", LOSS_WARNING, LOSS_CRITICAL)
        privileged = _privileged(options.get("privileged"))
        try:
            # resolved here, through the policy: icmplib is given the checked address only
            _family, sockaddr = await netpolicy.first_address(host, 0, netpolicy.flag(options))
        except netpolicy.AddressRefused as exc:
            return ProbeOutcome(CRITICAL, f"PING CRITICAL - {exc}")
        except (OSError, UnicodeError):
            return ProbeOutcome(CRITICAL, f"PING CRITICAL - cannot resolve {host}")
        address = str(sockaddr[0])

        from icmplib import (  # lazy: only icmp checks load it
            NameLookupError,
            SocketPermissionError,
            async_ping,
        )

        try:
            got = await async_ping(
                address, count=count, interval=interval, timeout=wait, privileged=privileged
            )
        except SocketPermissionError:
            return ProbeOutcome(UNKNOWN, f"PING UNKNOWN - {_permission_text(privileged)}")
        except NameLookupError:
            return ProbeOutcome(CRITICAL, f"PING CRITICAL - cannot resolve {host}")
        except OSError as exc:
            return ProbeOutcome(UNKNOWN, f"PING UNKNOWN - {host}: {exc.strerror or exc}")
        return _outcome(host, str(got.address), count, list(got.rtts), rtt, loss, privileged)


def _pair(options: Mapping[str, Any], what: str, warning: str, critical: str) -> Levels:
    def one(name: str, default: str) -> Any:
        raw = options.get(name, default)  # absent: default; explicit null: off
        if raw is None or raw == "":
            return None
        try:
            return parse_range(raw)
        except ValueError as exc:
            raise OptionError(f"icmp: {name}: {exc}") from None

    return Levels(one(f"warning_{what}", warning), one(f"critical_{what}", critical))


def _privileged(raw: Any) -> bool:
    if raw is None or raw == "":
        # Like iputils' ping: datagram sockets where our group may use them, as the kernel hands
        # each only its own replies; a raw socket gets a copy of every ICMP packet arriving, so
        # each of N concurrent pings parses the packets of all N (10,000 hosts: 5x the CPU).
        if _datagram_allowed():
            return False
        return os.geteuid() == 0 or _has_net_raw()
    return flag({"privileged": raw}, "privileged", "icmp", False)


def _datagram_allowed() -> bool:
    """Whether net.ipv4.ping_group_range holds one of our groups (checked by the kernel at
    socket(): the effective group or a supplementary one)."""
    try:
        low, high = (int(x) for x in _ping_groups().split())
    except ValueError:
        return False
    return any(low <= gid <= high for gid in (os.getegid(), *os.getgroups()))


CAP_NET_RAW = 13  # linux/capability.h


def _has_net_raw() -> bool:
    """CAP_NET_RAW in this process's effective set (e.g. systemd's AmbientCapabilities)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_NET_RAW & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def socket_problem(privileged: bool | None = None) -> str | None:
    """Why this process cannot open the ICMP socket the probe would use, or None."""
    use_raw = _privileged(privileged)
    kind = socket.SOCK_RAW if use_raw else socket.SOCK_DGRAM
    try:
        socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP).close()
    except PermissionError:
        return _permission_text(use_raw)
    except OSError as exc:
        return f"cannot open an ICMP socket: {exc.strerror or exc}"
    return None


def _reply_wait(wanted: float, count: int, interval: float, budget: float) -> float:
    """Per-reply wait so that all packets fit in the budget (replies are awaited in turn)."""
    spare = budget * 0.9 - (count - 1) * interval
    if spare <= 0:
        raise OptionError(
            f"icmp: {count} packets {interval:g} s apart do not fit in the {budget:g} s timeout"
        )
    return max(0.01, min(wanted, spare / count))


# What to do about it, in the check's output: the operator reads it in the UI, not the code.
FIX = (
    "give the server CAP_NET_RAW (systemd: AmbientCapabilities=CAP_NET_RAW, as in"
    " deploy/systemd/augenmass.service) or allow its group in net.ipv4.ping_group_range"
    " (sysctl -w net.ipv4.ping_group_range='GID GID')"
)


def _permission_text(privileged: bool) -> str:
    if privileged:
        return (
            "raw ICMP sockets need root (or CAP_NET_RAW): ICMP needs root or "
            "net.ipv4.ping_group_range (set privileged: false to use it); "
            f"fix: {FIX.replace('GID GID', f'{os.getegid()} {os.getegid()}')}"
        )
    group = os.getegid()
    allowed = _ping_groups()
    return (
        "unprivileged ICMP (datagram sockets) is not allowed for group "
        f"{group} (net.ipv4.ping_group_range = {allowed}): ICMP needs root or "
        f"net.ipv4.ping_group_range; fix: {FIX.replace('GID GID', f'{group} {group}')}"
    )


def _ping_groups() -> str:
    try:
        with open(PING_GROUP_RANGE, encoding="ascii") as handle:
            return " ".join(handle.read().split())
    except OSError:
        return "unreadable"


def _outcome(
    host: str,
    address: str,
    count: int,
    rtts: list[float],
    rtt: Levels,
    loss: Levels,
    privileged: bool,
) -> ProbeOutcome:
    received = len(rtts)
    # our own count: icmplib reports 0 % loss when not a single request could be sent
    lost_pct = 100.0 * (count - received) / count
    where = host if host == address or _is_ip(host) else f"{host} ({address})"
    mode = "raw socket" if privileged else "datagram socket"
    loss_perf = loss.perf("pl", round(lost_pct, 1), "%", 0.0, 100.0)
    if not received:
        return ProbeOutcome(
            CRITICAL,
            f"PING CRITICAL - {where}: 100% packet loss ({count} sent, none answered)",
            long_output=f"mode: {mode}",
            perfdata=(loss_perf,),
        )
    avg, peak = sum(rtts) / received, max(rtts)
    state = worst((rtt.state(avg), loss.state(lost_pct)))
    return ProbeOutcome(
        status=state,
        output=(
            f"PING {LABELS[state]} - {where}: {lost_pct:.0f}% packet loss, "
            f"rta {avg:.3f} ms, max {peak:.3f} ms"
        ),
        long_output=f"{received} of {count} replies, min {min(rtts):.3f} ms; mode: {mode}",
        perfdata=(
            rtt.perf("rta", round(avg, 3), "ms", 0.0),
            loss_perf,
            Levels().perf("rtmax", round(peak, 3), "ms", 0.0),
            Levels().perf("rtmin", round(min(rtts), 3), "ms", 0.0),
        ),
    )


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
