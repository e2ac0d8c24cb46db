"""The `flow` check: real TCP/UDP/ICMP probes between two endpoints, and the rule counters they moved.

    flow: {from: proc, to: db, proto: tcp, port: 5432, both: true}    expect: pass | fail

TCP: a listening socket opened inside the target's namespace, a client socket opened inside
the source's (sockets keep the namespace they were made in; no processes), a full handshake
within `timeout`.  UDP: a datagram to a bound socket in the target, which answers; the
answer must come back.  ICMP: ping.  With `both`, the same from the target to the source.
The counters of every VPC's rules are read before and after (summed over the PEs), and the
rules whose counters moved are reported, e.g. "bravo-vpc/pg +3".
"""
from __future__ import annotations

import socket
import time
from typing import Optional

from ..checks import pings
from ..kernel import ns

DEFAULT_PORT = {"tcp": 5001, "udp": 5001}


def _listen(netns: str, proto: str, port: int) -> socket.socket:
    def make():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        if proto == "tcp":
            s.listen(8)
        return s
    return ns.enter(netns, make)


def _client(netns: str, proto: str) -> socket.socket:
    return ns.enter(netns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp"
                                                 else socket.SOCK_DGRAM))


def probe(testbed: str, src_ns: str, dst_ns: str, src_node: str, dst_addr: str, proto: str,
          port: Optional[int], timeout: float = 3.0) -> bool:
    """One real probe from src to dst: True if the exchange completed."""
    if proto == "icmp":
        return pings(testbed, [(src_node, dst_addr)], count=2)[(src_node, dst_addr)]
    port = port or DEFAULT_PORT[proto]
    server = _listen(dst_ns, proto, port)
    client = _client(src_ns, proto)
    try:
        client.settimeout(timeout)
        if proto == "tcp":
            return client.connect_ex((dst_addr, port)) == 0
        server.settimeout(0.5)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            client.sendto(b"cloudnet-acl-probe", (dst_addr, port))
            try:
                data, peer = server.recvfrom(64)
            except socket.timeout:
                continue
            server.sendto(data, peer)
            client.settimeout(0.5)
            try:
                return client.recvfrom(64)[0] == data
            except socket.timeout:
                return False
        return False
    finally:
        client.close()
        server.close()


def _totals(network) -> dict[str, int]:
    """vpc/rule -> packets, summed over the PEs where the rules are applied."""
    out = {}
    for entry in network.acls.listing():
        for rule in entry["rules"]:
            out[f"{entry['vpc']}/{rule['name']}"] = sum(p for p, _ in rule["counters"].values())
    return out


def run_flow(w, body, expect: str) -> tuple[bool, str, dict]:
    """(passed, detail, counter deltas).  passed: every probe got through (for expect: fail the
    runner inverts it, so a `fail` flow is ok only if every direction was dropped)."""
    proto = body.proto
    directions = [(body.src, body.to)] + ([(body.to, body.src)] if body.both else [])
    before = _totals(w.network)
    got = {}
    for a, b in directions:
        got[(a, b)] = probe(w.testbed, w.netns(a), w.netns(b), a, w.address(b), proto, body.port,
                            timeout=3.0 if expect == "pass" else 1.5)
    after = _totals(w.network)
    deltas = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    what = proto + (f"/{body.port or DEFAULT_PORT[proto]}" if proto != "icmp" else "")
    detail = ", ".join(f"{a}->{b} {what} {'passed' if ok else 'dropped'}" for (a, b), ok in got.items())
    detail += "; counters " + (", ".join(f"{k} +{v}" for k, v in sorted(deltas.items())) or "unchanged")
    passed = all(got.values()) if expect == "pass" else any(got.values())
    return passed, detail, deltas
