"""The rule that keeps the probe network policy in one place: no probe module resolves a name or
opens a connection except through probes/netpolicy.py.

A new call site fails this test. If it is needed, it must take an address netpolicy gave out
(resolve / first_address / connect_socket) and be added to ALLOWED below with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import augenmass.probes

PROBES = Path(augenmass.probes.__file__).parent

# Calls that resolve or reach the network on their own.
RESOLVE = {"getaddrinfo", "gethostbyname", "gethostbyname_ex", "getnameinfo", "resolve_host"}
CONNECT = {
    "connect",
    "connect_ex",
    "sock_connect",
    "create_connection",
    "open_connection",
    "create_datagram_endpoint",
    "datagram_endpoint",
    "sendto",
    "async_ping",
    "create",  # pysnmp's UdpTransportTarget.create resolves the name it is given
}

# (module, enclosing function, call): each takes an address netpolicy already checked.
ALLOWED = {
    # the plain-http fast path lets the loop make the socket, to an endpoint from resolve()
    ("httpclient.py", "_open", "create_connection"),
    # TLS / streams on a socket connect_socket() connected (sock=...)
    ("httpclient.py", "_handshake", "create_connection"),
    ("tls.py", "_handshake", "create_connection"),
    ("tls.py", "_handshake", "open_connection"),
    ("sip.py", "_tcp", "open_connection"),
    # SIP over UDP: a connected datagram socket to the address first_address() gave
    ("sip.py", "_udp", "datagram_endpoint"),
    ("sip.py", "_udp", "sendto"),
    ("safeopen.py", "datagram_endpoint", "create_datagram_endpoint"),
    # SNMP: packets to the address _address() got from first_address()
    ("client.py", "_request_v2c", "sendto"),
    ("client.py", "sendto", "sendto"),
    ("client.py", "_transport", "create"),
    # icmplib is given the address first_address() allowed, never the name
    ("icmp.py", "run", "async_ping"),
}


def _is_netpolicy(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "netpolicy"


def _calls(path: Path) -> list[tuple[str, str, int]]:
    """(enclosing function, called name, line) for every call in the module."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST, func: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = func
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = child.name
            if isinstance(child, ast.Call):
                target = child.func
                if isinstance(target, ast.Attribute) and _is_netpolicy(target.value):
                    visit(child, name)
                    continue  # netpolicy.open_connection & co. are the rule, not a breach
                called = (
                    target.attr
                    if isinstance(target, ast.Attribute)
                    else target.id
                    if isinstance(target, ast.Name)
                    else ""
                )
                found.append((func, called, child.lineno))
            visit(child, name)

    visit(tree, "")
    return found


def test_no_probe_resolves_or_connects_outside_netpolicy() -> None:
    offenders = []
    used = set()
    for path in sorted(PROBES.rglob("*.py")):
        if path.name == "netpolicy.py":
            continue
        for func, called, line in _calls(path):
            if called in RESOLVE or (
                called in CONNECT and (path.name, func, called) not in ALLOWED
            ):
                offenders.append(f"{path.relative_to(PROBES)}:{line} {func}() calls {called}")
            used.add((path.name, func, called))
    assert not offenders, "resolve/connect through probes/netpolicy.py:\n" + "\n".join(offenders)
    assert used >= ALLOWED, f"stale ALLOWED entries: {sorted(ALLOWED - used)}"


def test_the_rule_sees_a_direct_connection(tmp_path: Path) -> None:
    # the walker itself must catch the pattern the rule is about
    module = tmp_path / "rogue.py"
    module.write_text(
        "import asyncio\nasync def run(h):\n    await asyncio.open_connection(h, 80)\n"
    )
    assert ("run", "open_connection", 3) in _calls(module)
