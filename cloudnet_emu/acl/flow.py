"""The `flow` check: real TCP/UDP/ICMP probes between two endpoints, and the rule counters they moved.

    flow: {from: proc, to: db, proto: tcp, port: 5432, both: true}    expect: pass | fail

TCP: a listening socket opened inside the target's namespace, a client socket opened inside
the source's (sockets keep the namespace they were made in; no processes), a full handshake
within `timeout`.  UDP: a datagram from a connected socket to a bound socket in the target,
which answers; the answer must come back.  ICMP: ping.  With `both`, the same from the target to
the source.  Each direction's outcome is classified:

    completed   the exchange finished
    dropped     timed out: silently dropped (what an nftables `drop`, i.e. a deny rule, does)
    rejected    refused: a TCP RST, or an ICMP unreachable/prohibited came back
    error       the probe could not be made (no namespace, a socket error): never a verdict

The counters of every VPC's rules are read before and after (summed over the PEs), and they are
the evidence: a flow expected allowed passes when every direction completed and every allow rule
that matches it counted it; a flow expected denied is a well-formed fail (the runner's `expect:
fail` makes it ok) only when every direction was dropped and a deny rule (or a deny default)
counted it: a drop nobody counted, or a rejection (a deny rule drops silently), was caused by
something else, and is an error.  `run_flow` returns a verdict.Verdict, the counter deltas its
evidence ({"counters": {vpc/rule: packets}}).
"""
from __future__ import annotations

import errno
import ipaddress
import socket
import time
from typing import Optional

from ..errors import CloudnetError
from ..kernel import ns
from ..verdict import Sent, Status, Verdict
from .nft import _side as side

DEFAULT_PORT = {"tcp": 5001, "udp": 5001}
COMPLETED, DROPPED, REJECTED, ERROR = "completed", "dropped", "rejected", "error"
_REJECT_ERRNOS = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM,
                  errno.ECONNRESET}
_TIMEOUT_ERRNOS = {errno.ETIMEDOUT, errno.EAGAIN, errno.EINPROGRESS, errno.EALREADY}


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


def _ping(src_ns: str, dst_addr: str) -> tuple[str, str]:
    res = ns.run(["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", dst_addr], netns=src_ns, check=False)
    text = res.stdout + res.stderr
    if res.returncode == 0:
        return COMPLETED, "echo replies"
    if res.returncode == 1 and ("Unreachable" in text or "filtered" in text or "prohibited" in text):
        return REJECTED, "ICMP unreachable"
    if res.returncode == 1:
        return DROPPED, "no reply"
    return ERROR, f"ping could not run: {text.strip()[-200:]}"


def _tcp(client: socket.socket, dst_addr: str, port: int) -> tuple[str, str]:
    rc = client.connect_ex((dst_addr, port))
    if rc == 0:
        return COMPLETED, "handshake completed"
    if rc in _TIMEOUT_ERRNOS:
        return DROPPED, "timed out"
    if rc in _REJECT_ERRNOS:
        return REJECTED, f"refused ({errno.errorcode.get(rc, rc)})"
    return ERROR, f"connect failed: {errno.errorcode.get(rc, rc)}"


def _udp(client: socket.socket, server: socket.socket, dst_addr: str, port: int, timeout: float) -> tuple[str, str]:
    client.connect((dst_addr, port))        # connected: an ICMP unreachable is reported on it
    server.settimeout(0.5)
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            client.send(b"cloudnet-acl-probe")
            try:
                data, peer = server.recvfrom(64)
            except socket.timeout:
                continue
            server.sendto(data, peer)
            client.settimeout(0.5)
            try:
                got = client.recv(64)
            except socket.timeout:
                return DROPPED, "the answer was lost"
            return (COMPLETED, "answered") if got == data else (ERROR, "a wrong answer came back")
    except OSError as exc:
        if exc.errno in _REJECT_ERRNOS:
            return REJECTED, f"refused ({errno.errorcode.get(exc.errno, exc.errno)})"
        raise
    return DROPPED, "timed out"


def probe(testbed: str, src_ns: str, dst_ns: str, src_node: str, dst_addr: str, proto: str,
          port: Optional[int], timeout: float = 3.0) -> tuple[str, str]:
    """One real probe from src to dst: (outcome, how), outcome one of completed, dropped, rejected, error."""
    try:
        for name in (src_ns, dst_ns):
            if not ns.exists(name):
                return ERROR, f"no namespace {name}"
        if proto == "icmp":
            return _ping(src_ns, dst_addr)
        port = port or DEFAULT_PORT[proto]
        server = _listen(dst_ns, proto, port)
        try:
            client = _client(src_ns, proto)
            try:
                client.settimeout(timeout)
                if proto == "tcp":
                    return _tcp(client, dst_addr, port)
                return _udp(client, server, dst_addr, port, timeout)
            finally:
                client.close()
        finally:
            server.close()
    except (OSError, CloudnetError) as exc:
        return ERROR, f"{type(exc).__name__}: {exc}"


def _totals(network) -> dict[str, int]:
    """vpc/rule -> packets, summed over the PEs where the rules are applied."""
    out = {}
    for entry in network.acls.listing():
        for rule in entry["rules"]:
            out[f"{entry['vpc']}/{rule['name']}"] = sum(p for p, _ in rule["counters"].values())
    return out


def _actions(network) -> dict[str, str]:
    """vpc/rule -> allow | deny (the default verdict included)."""
    return {f"{e['vpc']}/{r['name']}": r["action"] for e in network.acls.listing() for r in e["rules"]}


def _in(addr: str, cidrs: Optional[list[str]]) -> bool:
    return cidrs is None or any(ipaddress.IPv4Address(addr) in ipaddress.IPv4Network(c) for c in cidrs)


def matching_allows(network, src: str, dst: str, proto: str, port: Optional[int]) -> list[str]:
    """vpc/rule of every allow rule (not a default) that matches a flow src -> dst."""
    out = []
    for entry in network.acls.listing():
        acl = network.acls.acl(entry["vpc"])
        resolved = network.acls.resolve(entry["vpc"], acl)
        for rule, name in zip(acl.rules, acl.names()):
            if rule.action != "allow" or rule.proto not in ("any", proto):
                continue
            if rule.port and (port is None or not any(_port_in(port, p) for p in rule.port)):
                continue
            directions = [(rule.sources, rule.targets)] + ([(rule.targets, rule.sources)] if rule.both else [])
            for a, b in directions:
                if _in(src, _side(a, resolved)) and _in(dst, _side(b, resolved)):
                    out.append(f"{entry['vpc']}/{name}")
                    break
    return out


def _side(words, resolved) -> Optional[list[str]]:
    return side(words, resolved)


def _port_in(port: int, spec: str) -> bool:
    lo, _, hi = str(spec).partition("-")
    return int(lo) <= port <= int(hi or lo)


def run_flow(w, body, expect: str) -> Verdict:
    """The flow's verdict with its evidence (see the module doc); the runner applies `expect`."""
    proto = body.proto
    port = body.port or DEFAULT_PORT.get(proto)
    directions = [(body.src, body.to)] + ([(body.to, body.src)] if body.both else [])
    before = _totals(w.network)
    got = {}
    for a, b in directions:
        got[(a, b)] = probe(w.testbed, w.netns(a), w.netns(b), a, w.address(b), proto, body.port,
                            timeout=3.0 if expect == "pass" else 1.5)
    after = _totals(w.network)
    deltas = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    actions = _actions(w.network)
    what = proto + (f"/{port}" if proto != "icmp" else "")
    sent = [Sent(a, f"{what} to {b} ({w.address(b)}): {out} ({how})", 0 if out == ERROR else 1)
            for (a, b), (out, how) in got.items()]
    detail = ", ".join(f"{a}->{b} {what} {out} ({how})" for (a, b), (out, how) in got.items())
    detail += "; counters " + (", ".join(f"{k} +{v}" for k, v in sorted(deltas.items())) or "unchanged")
    outcomes = [out for out, _ in got.values()]
    name = f"flow {body.src} -> {body.to} {what}"

    def verdict(status: Status, why: str) -> Verdict:
        return Verdict(name, "flow", status, f"{why}: {detail}", sent, evidence={"counters": deltas})

    if ERROR in outcomes:
        return verdict(Status.ERROR, "a probe could not be made")
    if all(out == COMPLETED for out in outcomes):
        quiet = [r for a, b in directions for r in matching_allows(w.network, w.address(a), w.address(b), proto, port)
                 if r not in deltas]
        if quiet:
            return verdict(Status.ERROR, f"completed, but the allow rule(s) {', '.join(dict.fromkeys(quiet))} "
                           "counted nothing (the flow did not cross them)")
        return verdict(Status.PASS, "completed")
    if any(out == COMPLETED for out in outcomes):
        return verdict(Status.FAIL if expect == "pass" else Status.PASS, "only some directions completed")
    if expect == "pass":
        return verdict(Status.FAIL, "not completed")
    if REJECTED in outcomes:
        return verdict(Status.ERROR, "rejected, but a deny rule drops silently: something else refused it")
    denies = [k for k in deltas if actions.get(k) == "deny"]
    if not denies:
        return verdict(Status.ERROR, "dropped, but no deny rule counted it (something else dropped it)")
    return verdict(Status.FAIL, f"dropped by {', '.join(sorted(denies))}")
