#!/usr/bin/env python3
"""Benchmark: 20 live migrations back and forth between dc1 and dc2, with GARP and without.

A 1000/s probe stream from acme-h1 runs across each migration of a VPLS VM (mem 16 MB).
Prints the outage p50/max, the outage beyond the configured pause, probes lost, and the
migration time, for both variants; the baseline is the configured pause itself (a perfect
network would add nothing to it).  Last line:

    outage beyond pause p50 3.2 ms with GARP, 4.1 ms without (pause 50 ms, outage p50 ...)

Run as root: sudo .venv/bin/python bench/migrate.py [--count N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from cloudnet_emu import lifecycle, pipeline  # noqa: E402
from cloudnet_emu.scenario.steps.migrate import Migrate, migrate as run_migration  # noqa: E402
from cloudnet_emu.scenario.world import World  # noqa: E402


def back_and_forth(testbed: str, vm: str, at: str, count: int, pause_ms: float, garp: bool = True) -> list[dict]:
    """`count` migrations of `vm` (now in cloud site `at`) between dc1 and dc2, each under a 1000/s probe
    stream from acme-h1: the migrate step's results (outage, pause, total)."""
    w = World(testbed)
    out, site = [], at
    for _ in range(count):
        site = "dc2" if site == "dc1" else "dc1"
        m = Migrate.model_validate({"vm": vm, "to": site, "pause_ms": pause_ms, "garp": garp,
                                    "probe": {"from": "acme-h1", "rate": 1000, "before_s": 0.3, "after_s": 0.7}})
        w.refresh()
        out.append(run_migration(w, m))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--pause-ms", type=float, default=50)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    record = pipeline.up("topologies/cloudnet.yaml", "control=static", degrade=True)
    results = {True: [], False: []}
    try:
        cloud, _ = pipeline.managers(record["testbed"])
        cloud.attach("acme-vpc", site="dc1", name="stay1")
        cloud.attach("acme-vpc", site="dc2", name="stay2")
        cloud.attach("acme-vpc", site="dc1", name="proc", mem_mb=16)
        at = "dc1"
        for garp in (True, False):
            results[garp] = back_and_forth(record["testbed"], "proc", at, args.count, args.pause_ms, garp)
            at = at if args.count % 2 == 0 else {"dc1": "dc2", "dc2": "dc1"}[at]
    finally:
        lifecycle.down(record["testbed"])
    med = statistics.median
    print(f"{args.count} migrations each way per variant, VPLS VM of 16 MB, pause {args.pause_ms:g} ms, "
          f"probes 1000/s from acme-h1 (realizations: {', '.join(f'{k}={v}' for k, v in record['realizations'].items())})")
    summary = {}
    for garp, runs in results.items():
        out = [r["outage"]["outage_ms"] for r in runs]
        beyond = [r["outage"]["outage_beyond_pause_ms"] for r in runs]
        lost = [r["outage"]["probes_lost"] for r in runs]
        total = [r["total_ms"] for r in runs]
        pause = [r["pause_ms"] for r in runs]
        label = "with GARP   " if garp else "without GARP"
        print(f"  {label} outage p50 {med(out):6.1f} ms max {max(out):6.1f} ms | beyond pause p50 {med(beyond):6.1f} ms "
              f"max {max(beyond):6.1f} ms | lost p50 {med(lost):5.0f} max {max(lost):5.0f} | pause p50 {med(pause):5.1f} ms"
              f" | migration p50 {med(total):6.0f} ms")
        summary[garp] = (med(beyond), med(out))
    print(f"outage beyond pause p50 {summary[True][0]:.1f} ms with GARP, {summary[False][0]:.1f} ms without "
          f"(pause {args.pause_ms:g} ms; outage p50 {summary[True][1]:.1f} / {summary[False][1]:.1f} ms)")

if __name__ == "__main__":
    main()
