#!/usr/bin/env python3
"""Soak: N live migrations of a VPLS VM back and forth between dc1 and dc2 (default 300), one probe stream running.

Figure 1 up, acme VMs stay1 (dc1) and stay2 (dc2) as bystanders, VM proc (8 MB) moves dc1 <-> dc2 with a
10 ms pause while acme-h1 sends it 300 UDP probes/s (echoed by a workload in the VM) for the whole run.
Then proc is detached and the bench asserts that nothing is stale: the testbed's links, addresses, routes
and OVS configuration equal the snapshot taken before proc was attached, no OVS or Linux bridge has an FDB
entry for proc's MAC, and no migration agent runs.  Prints migrations/s, outage p50/p95/max and probes lost.
Last line:

    300 migrations in 512 s (0.59/s): outage p50 12.3 ms p95 40.1 ms max 95.0 ms; nothing stale

Run as root, under the root-test lock: sudo flock /run/lock/cloudnet-emu-root-tests.lock \\
    .venv/bin/python bench/soak.py [--count N] [--pause-ms MS] [--rate PPS]
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from cloudnet_emu import lifecycle, pipeline  # noqa: E402
from cloudnet_emu.migration.soak import leftovers, snapshot, soak  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--pause-ms", type=float, default=10)
    ap.add_argument("--rate", type=float, default=300, help="probes per second")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    record = pipeline.up("topologies/cloudnet.yaml", "control=static", degrade=True)
    tb = record["testbed"]
    try:
        cloud, _ = pipeline.managers(tb)
        cloud.attach("acme-vpc", site="dc1", name="stay1")
        cloud.attach("acme-vpc", site="dc2", name="stay2")
        before = snapshot(tb)
        mac = cloud.attach("acme-vpc", site="dc1", name="proc", mem_mb=8)["mac"]
        res = soak(tb, "proc", ["dc1", "dc2"], args.count, args.pause_ms, rate=args.rate,
                   progress=lambda s: print(s, flush=True))
        cloud, _ = pipeline.managers(tb)
        cloud.detach("proc")
        after = snapshot(tb)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        stale = leftovers(mac) + [f"testbed state differs from before the soak in {k}" for k in changed]
    finally:
        lifecycle.down(tb)
    print(f"realizations: {', '.join(f'{k}={v}' for k, v in record['realizations'].items())}")
    print(f"probes: {res['probes_sent']} sent, {res['probes_lost']} lost; migration p50 {res['migration_p50_ms']:.0f} ms; "
          f"migrations that never recovered within their window: {res['not_recovered']}")
    for line in stale:
        print(f"STALE: {line}")
    print(f"{res['migrations']} migrations in {res['seconds']:.0f} s ({res['migrations_per_s']:.2f}/s): "
          f"outage p50 {res['outage_p50_ms']:.1f} ms p95 {res['outage_p95_ms']:.1f} ms max {res['outage_max_ms']:.1f} ms; "
          f"{'nothing stale' if not stale else f'{len(stale)} stale item(s)'}")
    sys.exit(1 if stale or res["not_recovered"] else 0)


if __name__ == "__main__":
    main()
