"""Isolation judged where a leak would land, not by the absence of a reply.

With overlapping address plans (the normal case here) a leaked packet's reply is routed to the
victim tenant's own host that has the sender's address, so "no reply" proves nothing.  Instead:

    watchers   a tcpdump (`-i any`, written as pcap and read back with scapy) in every namespace
               of every tenant (hosts, VMs, CE routers, VRF namespaces, logical CEs) and in the
               Internet node: everywhere a leaked packet could arrive
    controls   each watcher pings its own loopback with packets of the control length, once
               before the probes and once after: a watcher that did not see both was not live
               for the whole window, and every verdict it would have judged is an error
    probes     iputils ping from the sender's namespace; probe i has its own IP total length
               (PROBE_BASE + i), so a packet seen anywhere names the probe that sent it

A probe's verdict (verdict.judge_watch) counts its packets at every watcher of a tenant other than
the sender's.  A ping that could not run (missing namespace, no route in the sender itself, a
usage error) is a sender that sent nothing: an error, never isolation.  A reply is a leak too
when the address does not also exist in the sender's own tenant.
"""
from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from typing import Optional

from . import naming
from .kernel import ping, sniff
from .kernel.exec import Popen, stop
from .verdict import Sent, Status, Verdict, Watch, judge_watch
from .attack.tools import Env

CONTROL_LEN = 599          # IP total length of the watchers' control pings
PROBE_BASE = 600           # probe i: IP total length PROBE_BASE + i
PROBE_MAX = 1400           # stays under every MTU in the testbed (VXLAN included)
INTERNET = "internet"      # the watcher tenant of the Internet node


@dataclass
class Probe:
    src: str                       # node that sends
    dst: str                       # address it sends to
    tenant: Optional[str]          # the sender's tenant (None: the Internet node)
    label: str = ""
    reply_is_leak: bool = True     # False where dst also exists in the sender's own tenant


@dataclass
class Watcher:
    node: str
    tenant: str


def watchers(testbed: str) -> list[Watcher]:
    """Every namespace of every tenant, and the Internet node: where a leak could land."""
    env = Env.open(testbed)
    out = [Watcher(node, t) for t in env.world.tenants for node in env.tenant_nodes(t)]
    inet = env.world.internet
    if inet:
        out.append(Watcher(inet.node, INTERNET))
    return out


class _Sniffer:
    """tcpdump in one namespace, writing the marker lengths as pcap; ready once its filter is attached."""

    def __init__(self, netns: str, path: str, lo: int, hi: int):
        self.path = path
        self.proc = sniff.start(netns, sniff.tcpdump_argv("any", f"icmp and ip[2:2] >= {lo} and ip[2:2] <= {hi}",
                                                          write=path))
        self.error = ""

    def wait_ready(self) -> bool:
        ready, said = sniff.wait_listening(self.proc)
        if not ready:
            self.error = (said or f"tcpdump exited with {self.proc.returncode}" if self.proc.returncode is not None
                          else f"not ready within {sniff.READY_S:g} s")
        return ready

    def stop(self) -> Counter:
        """IP total length -> packets seen."""
        stop(self.proc)
        return lengths(self.path)


def lengths(path: str) -> Counter:
    """IP total length -> packets, of the IPv4 packets in a pcap file (empty if it is unreadable)."""
    from scapy.layers.inet import IP
    from scapy.utils import PcapReader
    out: Counter = Counter()
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return out
    try:
        with PcapReader(path) as reader:
            for pkt in reader:
                if IP in pkt:
                    out[pkt[IP].len] += 1
    except EOFError:            # a record cut short by the terminate: the ones before it count
        pass
    return out


def _ping(netns: str, dst: str, length: int, count: int) -> Popen:
    return ping.spawn(netns, dst, count=count, wait=1, size=length - 28)


def _ping_result(proc: Popen) -> tuple[int, int, str]:
    """(transmitted, received, what went wrong) of a finished ping; iputils: exit 1 is 'no reply',
    anything but 0 and 1 is a ping that could not do its job."""
    out, _ = proc.communicate(timeout=60)
    sent, got = ping.stats(out) or (0, 0)
    if proc.returncode not in (0, 1):
        return 0, 0, ping.last_line(out) or f"ping exited with {proc.returncode}"
    return sent, got, ""


def run(testbed: str, probes: list[Probe], watching: list[Watcher], count: int = 2) -> list[Verdict]:
    """One isolation verdict per probe, all probes in one watched window (chunks of PROBE_MAX-PROBE_BASE)."""
    span = PROBE_MAX - PROBE_BASE
    out: list[Verdict] = []
    for i in range(0, len(probes), span):
        out += _window(testbed, probes[i:i + span], watching, count)
    return out


def _window(testbed: str, probes: list[Probe], watching: list[Watcher], count: int) -> list[Verdict]:
    if not probes:
        return []
    hi = PROBE_BASE + len(probes) - 1
    tmp = tempfile.mkdtemp(prefix="cloudnet-isolation-")
    sniffers: dict[str, _Sniffer] = {}
    try:
        for w in watching:
            sniffers[w.node] = _Sniffer(naming.netns(testbed, w.node), os.path.join(tmp, f"{w.node}.pcap"),
                                        CONTROL_LEN, hi)
        dead = {node: s.error for node, s in sniffers.items() if not s.wait_ready()}
        _controls(testbed, watching)
        pings = [_ping(naming.netns(testbed, p.src), p.dst, PROBE_BASE + i, count) for i, p in enumerate(probes)]
        results = [_ping_result(proc) for proc in pings]
        time.sleep(0.3)        # stragglers through the emulated links
        _controls(testbed, watching)
        time.sleep(0.2)
        seen = {node: s.stop() for node, s in sniffers.items()}
    finally:
        for s in sniffers.values():
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    out = []
    for i, (p, (sent, got, err)) in enumerate(zip(probes, results)):
        length = PROBE_BASE + i
        watched = [Watch(w.node if w.node not in dead else f"{w.node} (sniffer dead: {dead[w.node]})",
                         # both controls (before and after) seen: live through the whole window
                         0 if w.node in dead or seen[w.node][CONTROL_LEN] < 2 else seen[w.node][CONTROL_LEN],
                         seen[w.node][length])
                   for w in watching if w.tenant != (p.tenant or INTERNET)]
        what = f"ICMP echo, IP length {length}, to {p.dst}"
        evidence = [Sent(p.src, what + (f" ({err})" if err else ""), sent)]
        status, reason = judge_watch(evidence, watched)
        if status is Status.PASS and got and p.reply_is_leak:
            status, reason = Status.FAIL, f"LEAK: {got} repl(y/ies) from {p.dst}, an address of another tenant"
        out.append(Verdict(p.label or f"{p.src} -> {p.dst}", "isolated", status, reason, evidence, watched))
    return out


def _controls(testbed: str, watching: list[Watcher]) -> None:
    procs = [_ping(naming.netns(testbed, w.node), "127.0.0.1", CONTROL_LEN, 1) for w in watching]
    for proc in procs:
        proc.communicate(timeout=30)

