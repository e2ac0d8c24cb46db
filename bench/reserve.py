#!/usr/bin/env python3
"""Benchmark: 100 bandwidth reservations on topologies/cloudnet.yaml, and what a reservation
buys under contention.

1. Attach N VMs of bravo-vpc (alternating dc1/dc2), then reserve a pipe VM <-> bravo-h1 for
   each (100 Mbit/s attachment circuit / N each): admission alone (dry run), and admission +
   realization (HTB class + u32 filter on every hop), p50/p95/max; the floor is the same tc
   classes and filters issued directly in the same run.  Then release them all.
2. A 70 Mbit/s pipe proc <-> bravo-h1 against a competing best-effort iperf3 flow on bravo-hq's
   100 Mbit/s link: achieved/reserved, beside the same two flows without the reservation.

Last lines:
    reserve p50 38.1 ms (admission 0.4 ms; floor 35.0 ms, ratio 1.09) ...
    under contention: 70.0 of 70 Mbit/s reserved (ratio 1.00); without the reservation 49.3 (0.70)

Run as root: sudo .venv/bin/python bench/reserve.py [--count N]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from cloudnet_emu import lifecycle, pipeline  # noqa: E402
from cloudnet_emu.managers import reserving  # noqa: E402
from cloudnet_emu.plan.actions import TcClass, TcFilter  # noqa: E402
from cloudnet_emu.realize import shaping  # noqa: E402
from cloudnet_emu.realize.apply import Kernel  # noqa: E402
from cloudnet_emu.scenario import qos, runner  # noqa: E402


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def floor_loop(testbed: str, metas: list[dict]) -> list[float]:
    """The same classes and filters by direct tc calls (slots moved out of the way), then removed."""
    k = Kernel(testbed)
    times, made = [], []
    for n, meta in enumerate(metas):
        classid, prio = f"1:{0x8000 + n:x}", 20000 + n
        t = time.perf_counter()
        for h in meta["hops"]:
            c = TcClass(h["node"], h["dev"], classid, h["rate"], h["capacity"], h["delay_ms"])
            shaping.add_class(k.netns(h["node"]), c)
            for m in h["matches"]:
                f = TcFilter(h["node"], h["dev"], prio, "mpls_uc" if h["encap"] == "mpls" else "ip", tuple(m),
                             classid)
                shaping.add_filter(k.netns(h["node"]), f)
                made.append(f)
            made.append(c)
        times.append((time.perf_counter() - t) * 1000)
    for a in made:
        (shaping.del_filter if isinstance(a, TcFilter) else shaping.del_class)(k.netns(a.node), a)
    k.close()
    return times


def contention(testbed: str, reserved: float, seconds: float) -> tuple[float, float]:
    cloud, _ = pipeline.managers(testbed)
    cloud.attach("bravo-vpc", site="dc2", name="proc", mem_mb=64)
    cloud.attach("bravo-vpc", site="dc2", name="bulk", mem_mb=64)
    w = runner.World(testbed)
    check = qos.ThroughputCheck(**{"from": "proc", "to": "bravo-h1", "min_mbit": reserved, "seconds": seconds,
                                   "competing": {"from": "bulk", "to": "bravo-h2"}})
    _, without, _ = qos.throughput(w, check)
    cloud.reserve("db", "bravo-vpc", between=["proc", "bravo-h1"], bw=reserved)
    _, with_, _ = qos.throughput(w, check)
    cloud.unreserve("db")
    got = [float(re.search(r"-> bravo-h1 ([\d.]+) Mbit/s", d).group(1)) for d in (with_, without)]
    return got[0], got[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--reserved", type=float, default=70.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    text = re.sub(r"vcpus: \d+", "vcpus: 512", open("topologies/cloudnet.yaml").read())
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    record = pipeline.up(f.name, "control=static", degrade=True)      # the fast realization, as measured
    os.unlink(f.name)
    tb = record["testbed"]
    rate = 100.0 / args.count * 0.9
    try:
        cloud, _ = pipeline.managers(tb)
        names = [cloud.attach("bravo-vpc", site="dc1" if i % 2 else "dc2", mem_mb=16)["name"]
                 for i in range(args.count)]
        admit, make, metas = [], [], []
        for i, name in enumerate(names):
            msg = reserving.request(cloud, f"r{i}", "bravo-vpc", between=[name, "bravo-h1"], bw=rate)
            t = time.perf_counter()
            cloud.network("reserve", dict(msg, dry_run=True))
            admit.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            metas.append(cloud.reserve(f"r{i}", "bravo-vpc", between=[name, "bravo-h1"], bw=rate))
            make.append((time.perf_counter() - t) * 1000)
        hops = sum(len(m["hops"]) for m in metas)
        floor = floor_loop(tb, metas)
        release = []
        for i in range(args.count):
            t = time.perf_counter()
            cloud.unreserve(f"r{i}")
            release.append((time.perf_counter() - t) * 1000)
        for name in names:
            cloud.detach(name)
        with_, without = contention(tb, args.reserved, args.seconds)
    finally:
        lifecycle.down(tb)
    print(f"{args.count} pipe reservations of {rate:.2f} Mbit/s, VM <-> bravo-h1, {hops} hops in all "
          f"(realizations: {', '.join(f'{k}={v}' for k, v in record['realizations'].items())})")
    for label, v in (("admission", admit), ("reserve", make), ("floor", floor), ("release", release)):
        print(f"  {label:<9} p50 {pct(v, 50):7.2f} ms  p95 {pct(v, 95):7.2f} ms  max {max(v):7.2f} ms")
    p50, f50 = pct(make, 50), pct(floor, 50)
    print(f"reserve p50 {p50:.1f} ms (admission {pct(admit, 50):.2f} ms; floor {f50:.1f} ms, ratio {p50 / f50:.2f}), "
          f"p95 {pct(make, 95):.1f} ms; {args.count} in {sum(make) / 1000:.2f} s; release p50 {pct(release, 50):.1f} ms")
    print(f"under contention: {with_:.1f} of {args.reserved:g} Mbit/s reserved (ratio {with_ / args.reserved:.2f}); "
          f"without the reservation {without:.1f} ({without / args.reserved:.2f})")


if __name__ == "__main__":
    main()
