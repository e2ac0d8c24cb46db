#!/usr/bin/env python3
"""Benchmark: a generated topology with 4 cloud sites and 100 VPCs, up with 100, 300, 1000 VMs.

The topology: 2 tenants x 2 sites on 4 PEs around one P router, 4 cloud sites (one per PE,
each with enough servers), 100 L3VPN VPCs (50 per tenant) with their VMs declared in the
file, so `up` attaches them all by the four steps.  Per size: up and down time, the time per phase
of `up` (namespaces, links/VRFs/tunnels/routes, Open vSwitch, shaping, then the VMs' attaches split
by Figure 2's steps vm/vlan/lce/vpn as the Cloud Manager timed them), the memory per VM (the
kernel's and ovs-vswitchd's, testbed_mb, against the no-VM baseline), the peak RSS of this process, and
the growth exponent between sizes (time ~ VMs^k: k = 1 is linear; before each size the kernel's
asynchronous freeing of the previous size's namespaces is waited for); the time per phase of `down`
(routing daemons, bridges, namespaces, ovs-vswitchd's removal of the ports, root links) and the
peak memory (sampled at each phase of `up`) per VM and per namespace.  With --rcu-expedited, the
largest size once more with the kernel's RCU grace periods expedited, labelled as such.  The baseline is the same
topology with no VMs, measured in the same run; beside it, the memory of a bare namespace with one
veth (NS_SAMPLE of them made and removed in a loop), the kernel's own cost of a node.

Run as root: sudo .venv/bin/python bench/scale.py [--sizes 100,300,1000]
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from cloudnet_emu import lifecycle, pipeline  # noqa: E402
from cloudnet_emu.kernel import ns  # noqa: E402
from cloudnet_emu.managers.ledger import read_data  # noqa: E402

SITES = 4
NS_SAMPLE = 200
PHASES = ("namespaces", "links, VRFs, tunnels, routes", "Open vSwitch", "link shaping", "provisioning")


def _kb(path: str, keys: tuple) -> int:
    with open(path) as f:
        return sum(int(line.split()[1]) for line in f if line.split(":")[0] in keys)


def testbed_mb() -> float:
    """The memory a testbed is made of, in MB: the kernel's (slab, per-CPU, page tables, stacks:
    namespaces, devices, routes, FDBs; a VM here is a namespace and holds no process) plus
    ovs-vswitchd's resident set (the userspace datapath keeps its ports and flows there).  Not
    MemAvailable: other processes on the machine move it by more than a testbed does."""
    kernel = _kb("/proc/meminfo", ("Slab", "Percpu", "PageTables", "KernelStack"))
    with open("/run/openvswitch/ovs-vswitchd.pid") as f:
        vswitchd = _kb(f"/proc/{f.read().strip()}/status", ("VmRSS",))
    return (kernel + vswitchd) / 1024


def namespace_mb() -> float:
    """MB of memory per bare namespace with one veth pair (one end inside), made and removed here."""
    names = [f"cn-benchns-{i}" for i in range(NS_SAMPLE)]
    before = testbed_mb()
    try:
        for n in names:
            ns.create(n)
            ns.run(["ip", "link", "add", "eth0", "netns", n, "type", "veth", "peer", "name", "cnv-" + n[-6:]])
        return (testbed_mb() - before) / NS_SAMPLE
    finally:
        ns.delete_many(names)


def topology(vms: int) -> dict:
    routers = [{"name": f"pe{i}", "role": "pe"} for i in range(1, 5)] + [{"name": "p1", "role": "p"}]
    links = [{"endpoints": [f"pe{i}", "p1"], "bw": 10000} for i in range(1, 5)]
    tenants = [{"name": t, "sites": [{"name": f"{t}-s{k}", "pe": f"pe{k}", "subnet": f"10.{k}.0.0/24",
                                      "hosts": [{"name": f"{t}-h{k}"}]} for k in (1, 2)]} for t in ("ta", "tb")]
    per_server = 64
    servers = math.ceil(vms / SITES / per_server) + 1
    clouds = [{"name": f"dc{c}", "pe": f"pe{c}",
               "servers": [{"name": f"dc{c}-s{s}", "vcpus": per_server, "mem_mb": per_server * 64}
                           for s in range(1, servers + 1)]} for c in range(1, SITES + 1)]
    vpcs = []
    for v in range(100):
        vpcs.append({"name": f"vpc{v}", "tenant": "ta" if v % 2 == 0 else "tb", "type": "l3vpn",
                     "subnet": f"10.{100 + v}.0.0/24", "sites": [], "vms": []})
    for i in range(vms):
        vpcs[i % 100]["vms"].append({"name": f"v{i}", "site": f"dc{i % SITES + 1}", "vcpus": 1, "mem_mb": 64})
    return {"name": "scale", "provider": {"routers": routers, "links": links}, "tenants": tenants,
            "cloud_sites": clouds, "vpcs": vpcs}


def kernel_namespaces() -> int:
    """Network namespaces the kernel still holds, freed or not (/proc/slabinfo's net_namespace)."""
    with open("/proc/slabinfo") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("net_namespace "))


def settle(limit_s: float = 300) -> float:
    """Wait until the kernel has freed the namespaces of an earlier `down` (its cleanup runs in a
    workqueue, after `down` returns, and takes the same locks as the next `up`); seconds waited."""
    t0, last = time.monotonic(), kernel_namespaces()
    while time.monotonic() - t0 < limit_s:
        time.sleep(1)
        now = kernel_namespaces()
        if now >= last:         # no longer falling
            break
        last = now
    return time.monotonic() - t0


def measure(vms: int) -> dict:
    """up and down of the topology with VMS VMs: times, phases of each, memory; first the kernel's
    clean-up of the previous size is waited for, so that one size does not pay for another."""
    settle()
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(topology(vms), f)
    marks = []
    peak = [0.0]

    def progress(text: str):
        marks.append((time.perf_counter(), text))
        peak[0] = max(peak[0], testbed_mb())       # sampled at each phase's start, and at the end
    try:
        before = testbed_mb()
        t0 = time.perf_counter()
        record = pipeline.up(f.name, "control=static", degrade=True, progress=progress)
        t1 = time.perf_counter()
        used = testbed_mb() - before
        peak_used = max(peak[0], used + before) - before
        steps = [vm.get("steps_ms", {}) for vm in read_data("scale", "cloud").get("vms", {}).values()]
        namespaces = len(record.get("namespaces", [])) + len(steps)      # the plan's and the VMs'
        down_phases = lifecycle.down("scale")
        down = time.perf_counter() - t1
    finally:
        os.unlink(f.name)
    phases = {}
    for (t, text), nxt in zip(marks, [m[0] for m in marks[1:]] + [t1]):
        name = next((p for p in PHASES if text.startswith(p)), None)
        if name:
            phases[name] = phases.get(name, 0.0) + nxt - t
    for k in ("vm", "vlan", "lce", "vpn"):
        phases[f"  {k}"] = sum(s.get(k, 0.0) for s in steps) / 1000
    return {"up": t1 - t0, "down": down, "mem_mb": used, "peak_mb": peak_used, "namespaces": namespaces,
            "phases": phases, "down_phases": down_phases}


RCU_EXPEDITED = "/sys/kernel/rcu_expedited"


def expedited(vms: int) -> dict:
    """measure(VMS) with the kernel's RCU grace periods expedited (machine-wide: set for this run
    only, the old value put back): what the per-port grace period of ovs-vswitchd costs in `down`."""
    with open(RCU_EXPEDITED) as f:
        old = f.read().strip()
    try:
        with open(RCU_EXPEDITED, "w") as f:
            f.write("1")
        return measure(vms)
    finally:
        with open(RCU_EXPEDITED, "w") as f:
            f.write(old)


def show(n: int, r: dict, base: dict, label: str = "") -> None:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n:5d} VMs{label}: up {r['up']:7.2f} s ({(r['up'] - base['up']) / n * 1000:5.1f} ms per VM), "
          f"down {r['down']:6.2f} s ({(r['down'] - base['down']) / n * 1000:5.1f} ms per VM); memory "
          f"{(r['mem_mb'] - base['mem_mb']) / n:.2f} MB per VM, peak {(r['peak_mb'] - base['peak_mb']) / n:.2f} MB "
          f"per VM, {r['peak_mb'] / r['namespaces']:.2f} MB per namespace ({r['namespaces']}); "
          f"peak RSS {rss:.0f} MB", flush=True)
    print("       up phases: " + ", ".join(f"{k.strip()} {v:.2f} s" for k, v in r["phases"].items()), flush=True)
    print("       down phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in r["down_phases"].items()), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,300,1000")
    ap.add_argument("--rcu-expedited", action="store_true",
                    help="also run the largest size with /sys/kernel/rcu_expedited=1 (machine-wide, for that "
                         "run only, the old value restored): how much of down is RCU grace periods")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    sizes = [int(x) for x in args.sizes.split(",")]
    per_ns = namespace_mb()
    base = measure(0)
    print(f"baseline (no VMs): up {base['up']:.2f} s, down {base['down']:.2f} s, {base['mem_mb']:.0f} MB "
          f"({base['namespaces']} namespaces); a bare namespace with a veth: {per_ns:.2f} MB; "
          f"load {os.getloadavg()[0]:.1f}")
    rows = []
    for n in sizes:
        r = measure(n)
        rows.append((n, r))
        show(n, r, base)
    for (n1, r1), (n2, r2) in zip(rows, rows[1:]):
        k = math.log((r2["up"] - base["up"]) / (r1["up"] - base["up"])) / math.log(n2 / n1)
        kd = math.log((r2["down"] - base["down"]) / (r1["down"] - base["down"])) / math.log(n2 / n1)
        print(f"growth {n1} -> {n2} VMs: exponent up {k:.2f}, down {kd:.2f} (1.00 = linear)")
    n, r = rows[-1]
    print(f"{n} VMs up {r['up']:.1f} s, down {r['down']:.1f} s, {(r['mem_mb'] - base['mem_mb']) / n:.2f} MB per VM "
          f"(a bare namespace {per_ns:.2f} MB); baseline up {base['up']:.2f} s, down {base['down']:.2f} s; "
          f"load {os.getloadavg()[0]:.1f}")
    if args.rcu_expedited:
        show(n, expedited(n), base, label=" (opt-in: rcu_expedited=1 for this run only, NOT the product's setting)")


if __name__ == "__main__":
    main()
