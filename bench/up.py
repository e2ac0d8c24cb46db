#!/usr/bin/env python3
"""Benchmark: `up` and `down` of a topology against plain Mininet with the same nodes and links.

The baseline is built in the same run from cloudnet-emu's own plan: one Mininet host
per namespace, one userspace OVS switch per OVS bridge, one Mininet link per veth or
patch.  Medians of --runs repetitions; the last line is the figure to quote:

    up 1.23 s, plain Mininet 1.10 s, ratio 1.12

Run as root: sudo .venv/bin/python bench/up.py [TOPOLOGY] [--runs N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from cloudnet_emu import lifecycle, pipeline  # noqa: E402
from cloudnet_emu.plan.actions import OvsBridge, OvsPort, Veth  # noqa: E402


def time_cloudnet(topology: str, runs: int) -> tuple[list[float], list[float], object]:
    ups, downs = [], []
    plan = None
    for _ in range(runs):
        topo = pipeline.load(topology)
        t0 = time.monotonic()
        plan = pipeline.plan(topo, "control=static", degrade=True)    # Mininet has no routing daemons either
        lifecycle.up(plan, topology)
        t1 = time.monotonic()
        lifecycle.down(plan.testbed)
        t2 = time.monotonic()
        ups.append(t1 - t0)
        downs.append(t2 - t1)
    return ups, downs, plan


def time_mininet(plan, runs: int) -> tuple[list[float], list[float], str]:
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.node import OVSSwitch
    from mininet.topo import Topo

    setLogLevel("error")
    hosts = {n.name: f"h{i + 1}" for i, n in enumerate(plan.nodes)}
    bridges = [a for a in plan.of(OvsBridge)]
    switches = {b.name: f"s{i + 1}" for i, b in enumerate(bridges)}
    port_bridge = {p.name: p.bridge for p in plan.of(OvsPort)}
    def end(node, ifname):
        return hosts[node] if node else switches[port_bridge[ifname]]
    links = [(end(v.a_node, v.a_if), end(v.b_node, v.b_if)) for v in plan.of(Veth)]

    class Same(Topo):
        def build(self):
            for h in hosts.values():
                self.addHost(h)
            for s in switches.values():
                self.addSwitch(s, dpid=f"{int(s[1:]):016x}")
            for a, b in links:
                self.addLink(a, b)

    ups, downs = [], []
    for _ in range(runs):
        t0 = time.monotonic()
        net = Mininet(topo=Same(), switch=lambda name, **kw: OVSSwitch(name, datapath="user", failMode="standalone",
                                                                     **kw),
                      controller=None, build=True)
        net.start()
        t1 = time.monotonic()
        net.stop()
        t2 = time.monotonic()
        ups.append(t1 - t0)
        downs.append(t2 - t1)
    return ups, downs, f"{len(hosts)} hosts, {len(switches)} switches, {len(links)} links"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("topology", nargs="?", default="topologies/cloudnet.yaml")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    c_up, c_down, plan = time_cloudnet(args.topology, args.runs)
    m_up, m_down, shape = time_mininet(plan, args.runs)
    med = statistics.median
    print(f"topology {args.topology}: {len(plan.nodes)} namespaces, {len(plan.actions)} actions; "
          f"realizations {', '.join(f'{k}={v}' for k, v in plan.realizations.items())}")
    print(f"baseline: plain Mininet with the same shape ({shape}), userspace OVS, standalone")
    print(f"runs: {args.runs} each; cloudnet-emu up {[round(x, 2) for x in c_up]}, down {[round(x, 2) for x in c_down]}; "
          f"Mininet up {[round(x, 2) for x in m_up]}, stop {[round(x, 2) for x in m_down]}")
    print(f"down {med(c_down):.2f} s, plain Mininet {med(m_down):.2f} s, ratio {med(c_down) / med(m_down):.2f}")
    print(f"up {med(c_up):.2f} s, plain Mininet {med(m_up):.2f} s, ratio {med(c_up) / med(m_up):.2f}")


if __name__ == "__main__":
    main()
