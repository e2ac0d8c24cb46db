#!/usr/bin/env python3
"""Benchmark: a generated topology with 4 cloud sites and 100 VPCs, up with 100, 300, 1000 VMs.

The topology: 2 tenants x 2 sites on 4 PEs around one P router, 4 cloud sites (one per PE,
each with enough servers), 100 L3VPN VPCs (50 per tenant) with their VMs declared in the
file, so `up` attaches them all by the four steps.  Per size: up and down time, the peak
memory of this process, and the growth exponent between sizes (time ~ VMs^k: k = 1 is
linear).  The baseline is the same topology with no VMs, measured in the same run.

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

SITES = 4


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


def measure(vms: int) -> tuple[float, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(topology(vms), f)
    try:
        t0 = time.perf_counter()
        pipeline.up(f.name, degrade=True)
        t1 = time.perf_counter()
        lifecycle.down("scale")
        return t1 - t0, time.perf_counter() - t1
    finally:
        os.unlink(f.name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,300,1000")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    sizes = [int(x) for x in args.sizes.split(",")]
    base_up, base_down = measure(0)
    print(f"baseline (no VMs): up {base_up:.2f} s, down {base_down:.2f} s")
    rows = []
    for n in sizes:
        up, down = measure(n)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append((n, up, down))
        print(f"{n:5d} VMs: up {up:7.2f} s ({(up - base_up) / n * 1000:5.1f} ms per VM), down {down:6.2f} s, "
              f"peak RSS {rss:.0f} MB", flush=True)
    for (n1, u1, _), (n2, u2, _) in zip(rows, rows[1:]):
        k = math.log((u2 - base_up) / (u1 - base_up)) / math.log(n2 / n1)
        print(f"growth {n1} -> {n2} VMs: exponent {k:.2f} (1.00 = linear)")
    n, up, down = rows[-1]
    print(f"{n} VMs up {up:.1f} s, down {down:.1f} s; baseline up {base_up:.2f} s")


if __name__ == "__main__":
    main()
