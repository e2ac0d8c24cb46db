#!/usr/bin/env python3
"""Benchmark: 100 sequential VM attaches, then 100 detaches, on topologies/cloudnet.yaml.

Prints p50/p95/max per attach step (vm, vlan, lce, vpn) and in total, beside the floor
measured in the same run: the same kernel objects for a VM (namespace, veth with MAC and
address, default route, OVS access port, the host route on each PE of the tenant) made by
direct netlink and OVSDB calls in a loop, without the managers and without a fork (OVSDB
in-process, kernel/ovsdb.py; raw netlink requests, kernel/rtnl.py; the PEs' handles opened once; a
VM's namespace entered once, its handle opened by the thread that creates it).  Last line:

    attach p50 23.4 ms (floor 9.1 ms, ratio 2.57), p95 ..., detach p50 ...

Run as root: sudo .venv/bin/python bench/attach.py [--count N]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from cloudnet_emu import lifecycle, naming, pipeline  # noqa: E402
from cloudnet_emu.kernel import ns, offload, ovsdb  # noqa: E402


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def floor_loop(testbed: str, count: int, record: dict) -> list[float]:
    """The same per-VM kernel objects by hand: what attach cannot go below."""
    vrfs = [v for k, v in record["info"]["vrfs"].items() if k.endswith("/bravo")]
    times = []
    # the product's own netlink handles (raw requests, kernel/rtnl.py); the PEs' kept open across VMs
    root = ns.rtnl_fast(None)
    pes = [ns.rtnl_fast(naming.netns(testbed, v["node"])) for v in vrfs]
    for i in range(count):
        name = f"fl{i}"
        t = time.perf_counter()
        netns = naming.netns(testbed, name)
        ip = ns.create(netns, handle=True)       # one entry into the namespace, as the product's
        ip.link("add", ifname="eth0", kind="veth", address=f"02:00:00:00:{i // 256:02x}:{i % 256:02x}",
                peer={"ifname": f"cnv-{name}", "net_ns_fd": os.open("/proc/self/ns/net", os.O_RDONLY)})
        idx = ip.link_lookup(ifname="eth0")[0]
        ip.addr("add", index=idx, address=f"10.1.101.{i % 250 + 2}", prefixlen=24)
        ip.link("set", index=idx, state="up")
        ip.route("replace", dst="0.0.0.0/0", gateway="10.1.101.1")
        root.link("set", index=root.link_lookup(ifname=f"cnv-{name}")[0], state="up")
        offload.tx_checksum_off(netns, "eth0", ip.inet)
        offload.tx_checksum_off(None, f"cnv-{name}")
        ovsdb.add_ports([{"bridge": "cnb-dc1-s1", "name": f"cnv-{name}", "tag": 300,
                          "external_ids": {"cloudnet-emu-bench": "floor"}}])
        for v, h in zip(vrfs, pes):          # the host route on each PE of the tenant
            h.route("replace", dst=f"10.1.101.{i % 250 + 2}/32", gateway=None, type="blackhole",
                    **({"table": v["table"]} if v["table"] else {}))
        ip.close()
        times.append((time.perf_counter() - t) * 1000)
    for h in pes:
        h.close()
    ovsdb.del_ports([f"cnv-fl{i}" for i in range(count)])
    for i in range(count):
        ns.delete(naming.netns(testbed, f"fl{i}"))
    for v in vrfs:
        for i in range(count):
            ns.run(["ip", "-n", naming.netns(testbed, v["node"]), "route", "del", f"10.1.101.{i % 250 + 2}/32"]
                   + (["table", str(v["table"])] if v["table"] else []), check=False)
    root.close()
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--topology", default="topologies/cloudnet.yaml")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    # the same topology with servers big enough for all the VMs
    import re
    import tempfile
    text = re.sub(r"vcpus: \d+", "vcpus: 512", open(args.topology).read())
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    record = pipeline.up(f.name, "control=static", degrade=True)      # the fast realization, as measured
    os.unlink(f.name)
    try:
        cloud, _ = pipeline.managers(record["testbed"])
        steps = {k: [] for k in ("vm", "vlan", "lce", "vpn", "total")}
        names = []
        for i in range(args.count):
            vm = cloud.attach("bravo-vpc", site="dc1" if i % 2 else "dc2", vcpus=1, mem_mb=64)
            names.append(vm["name"])
            for k in steps:
                steps[k].append(vm["steps_ms"][k])
        detached = [cloud.detach(n) for n in names]
        detach = [d["ms"] for d in detached]
        dsteps = {k: [d["steps_ms"].get(k, 0.0) for d in detached] for k in detached[0]["steps_ms"]} if detached else {}
        floor = floor_loop(record["testbed"], args.count, record)
    finally:
        lifecycle.down(record["testbed"])
    print(f"{args.count} attaches of bravo-vpc VMs alternating dc1/dc2 (realizations: "
          f"{', '.join(f'{k}={v}' for k, v in record['realizations'].items())})")
    for k, v in steps.items():
        print(f"  {k:<6} p50 {pct(v, 50):7.2f} ms  p95 {pct(v, 95):7.2f} ms  max {max(v):7.2f} ms")
    for k, v in dsteps.items():
        print(f"  detach {k:<7} p50 {pct(v, 50):7.2f} ms  p95 {pct(v, 95):7.2f} ms  max {max(v):7.2f} ms")
    print(f"  detach p50 {pct(detach, 50):7.2f} ms  p95 {pct(detach, 95):7.2f} ms  max {max(detach):7.2f} ms")
    print(f"  floor  p50 {pct(floor, 50):7.2f} ms  p95 {pct(floor, 95):7.2f} ms  max {max(floor):7.2f} ms "
          "(same objects by in-process netlink/OVSDB calls, no fork)")
    p50, f50 = pct(steps["total"], 50), pct(floor, 50)
    print(f"attach p50 {p50:.1f} ms (floor {f50:.1f} ms, ratio {p50 / f50:.2f}), p95 {pct(steps['total'], 95):.1f} ms, "
          f"max {max(steps['total']):.1f} ms; detach p50 {pct(detach, 50):.1f} ms "
          f"(ratio to attach {pct(detach, 50) / p50:.2f})")


if __name__ == "__main__":
    main()
