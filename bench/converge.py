#!/usr/bin/env python3
"""Benchmark: the provider's control plane, `bgp` (FRR) against `static`, on the same topology in one run.

Figure 1 (topologies/cloudnet.yaml) with one more acme site behind pe4, so that a core link can be
cut under live traffic.  For each control plane, in the same run:

  up                 wall time of `up` (median of --runs); under bgp also the daemons' own
                     convergence (FIB + sessions, record["control"]["converged_s"])
  attach-to-reachable   bravo-vpc VMs attached one by one in dc1/dc2; from the start of the
                     attach call until bravo-h1's first ping to the VM is answered, said apart
                     for the tenant's first VM at a site (under bgp a new VRF and its FRR
                     instance must start and open its sessions) and for later VMs there (a route
                     announcement): median of the firsts, p50 and p95 of the later ones
  link cut           pe4--p1 set down while acme-h1 pings acme-h4 (behind pe4) every ~100 ms;
                     the time until a reply comes back, median of --cuts (`static` has no second path to learn,
                     so its figure is the give-up time: "not back in N s")

The baseline is `static`, the planner's own shortest paths: what `bgp` costs or buys.  Last line:

    bgp: up 4.1 s (static 1.3 s, ratio 3.2), attach-to-reachable p50 25 ms (static 24 ms, ...), link cut back in 0.12 s (static: not back in 5 s), migration outage beyond the pause p50 ...

  migration          a VPLS VM (acme-vpc, 16 MB) moved between dc1 and dc2 --migrations times under a
                     1000/s probe stream from acme-h1 (bench/migrate.py's step): the outage beyond the
                     configured pause, p50 and max.  Under bgp the enterprise PE learns the move from
                     EVPN MAC mobility (a type-2 route with a higher sequence), under static from the
                     gratuitous ARP flooded to it

Three variants: `static`, `bgp` with p1 reflecting, and `bgp` with `reflectors: []` (the PEs in a
full mesh: a route crosses one bgpd on its way from PE to PE instead of two).

Run as root: sudo .venv/bin/python bench/converge.py [--runs N] [--attaches N] [--cuts N] [--migrations N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from cloudnet_emu import lifecycle, naming, pipeline  # noqa: E402
from cloudnet_emu.links import set_link  # noqa: E402
from migrate import back_and_forth  # noqa: E402  (bench/migrate.py: this directory is on sys.path)

CUT_GIVE_UP_S = 5.0


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


# each measured variant: (control, provider.reflectors); None keeps the default reflector (p1)
VARIANTS = {"static": ("static", None), "bgp": ("bgp", None), "bgp, full mesh": ("bgp", [])}


def topology(control: str, reflectors: list | None) -> str:
    """Figure 1 with an acme site behind pe4 and servers large enough for the attaches."""
    with open("topologies/cloudnet.yaml") as f:
        data = yaml.safe_load(f)
    data["name"] = f"conv{control[:3]}" + ("m" if reflectors == [] else "")
    data["provider"]["control"] = control
    if reflectors is not None:
        data["provider"]["reflectors"] = reflectors
    data["tenants"][0]["sites"].append({"name": "acme-e4", "pe": "pe4", "subnet": "10.1.4.0/24",
                                        "hosts": [{"name": "acme-h4"}]})
    f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, prefix=f"converge-{control}-")
    yaml.safe_dump(data, f, sort_keys=False)
    f.close()
    return f.name


def ping(testbed: str, src: str, dst: str, wait_s: float) -> bool:
    return subprocess.run(["ip", "netns", "exec", naming.netns(testbed, src), "ping", "-n", "-q", "-c", "1", "-W",
                           str(wait_s), dst], capture_output=True).returncode == 0


def time_up(path: str, runs: int) -> tuple[list[float], list[float]]:
    ups, converged = [], []
    for _ in range(runs):
        t0 = time.monotonic()
        record = pipeline.up(path, degrade=True)
        ups.append(time.monotonic() - t0)
        converged.append((record.get("control") or {}).get("converged_s", 0.0))
        lifecycle.down(record["testbed"])
    return ups, converged


def attach_to_reachable(testbed: str, count: int) -> tuple[list[float], list[float]]:
    """(the tenant's first VM at each site, the later VMs): seconds from attach to reachable."""
    cloud, _ = pipeline.managers(testbed)
    first, later, sites = [], [], set()      # the topology has no bravo VM in a data center
    for i in range(count):
        site = "dc1" if i % 2 else "dc2"
        times = later if site in sites else first
        sites.add(site)
        t0 = time.monotonic()
        vm = cloud.attach("bravo-vpc", site=site, vcpus=1, mem_mb=64)
        while not ping(testbed, "bravo-h1", vm["ip"], 0.05):
            if time.monotonic() - t0 > 10:
                raise RuntimeError(f"{vm['name']} ({vm['ip']}) not reachable from bravo-h1 10 s after its attach")
        times.append(time.monotonic() - t0)
    return first, later


def link_cut(testbed: str, record: dict) -> float | None:
    """Seconds until acme-h1 reaches acme-h4 again after pe4--p1 went down; None if not within the give-up time.

    Before the cut the link is back in use: the pe4 loopback route at p1 goes out on pe4 again (under
    bgp OSPF re-forms the adjacency first, about a second after the link came back)."""
    h4 = record["info"]["sites"]["acme-e4"]["hosts"]["acme-h4"]
    deadline = time.monotonic() + 10
    while not (direct(testbed, record) and ping(testbed, "acme-h1", h4, 0.5)):
        if time.monotonic() > deadline:
            raise RuntimeError("acme-h1 does not reach acme-h4 over pe4--p1 before the cut")
        time.sleep(0.1)
    t0 = time.monotonic()
    set_link(testbed, "pe4", "p1", False)
    try:
        while time.monotonic() - t0 < CUT_GIVE_UP_S:
            if ping(testbed, "acme-h1", h4, 0.1):
                return time.monotonic() - t0
        return None
    finally:
        set_link(testbed, "pe4", "p1", True)


def direct(testbed: str, record: dict) -> bool:
    lo = record["info"]["loopbacks"]["pe4"]
    out = subprocess.run(["ip", "-j", "-n", naming.netns(testbed, "p1"), "route", "show", lo], capture_output=True,
                         text=True).stdout
    return any(r.get("dev") == "pe4" for r in json.loads(out or "[]"))


def migration(testbed: str, count: int, pause_ms: float) -> list[float]:
    """Outage beyond the pause (ms) of each of `count` moves of a VPLS VM between dc1 and dc2."""
    cloud, _ = pipeline.managers(testbed)
    cloud.attach("acme-vpc", site="dc2", name="stay2")      # the destination site's switch and PE already carry the VPC
    cloud.attach("acme-vpc", site="dc1", name="mover", mem_mb=16)
    return [r["outage"]["outage_beyond_pause_ms"] for r in back_and_forth(testbed, "mover", "dc1", count, pause_ms)]


def measure(variant: str, args) -> dict:
    path = topology(*VARIANTS[variant])
    try:
        ups, converged = time_up(path, args.runs)
        record = pipeline.up(path, degrade=True)
        try:
            first, reach = attach_to_reachable(record["testbed"], args.attaches)
            cuts = [link_cut(record["testbed"], record) for _ in range(args.cuts)]
            moves = migration(record["testbed"], args.migrations, args.pause_ms)
        finally:
            lifecycle.down(record["testbed"])
    finally:
        os.unlink(path)
    return {"up": statistics.median(ups), "converged": statistics.median(converged), "first": first, "reach": reach,
            "cut": None if None in cuts else statistics.median(cuts), "moves": moves}


def cut_text(cut: float | None) -> str:
    return f"back in {cut:.2f} s" if cut is not None else f"not back in {CUT_GIVE_UP_S:.0f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="ups per control plane (median)")
    ap.add_argument("--cuts", type=int, default=3, help="link cuts per control plane (median)")
    ap.add_argument("--attaches", type=int, default=20, help="VMs attached per control plane (the first two are "
                    "the tenant's first at dc2 and dc1)")
    ap.add_argument("--migrations", type=int, default=6, help="moves of a VPLS VM between dc1 and dc2 per control plane")
    ap.add_argument("--pause-ms", type=float, default=50, help="each migration's stop-and-copy pause")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    res = {v: measure(v, args) for v in VARIANTS}
    print(f"| control | up (median of {args.runs}) | daemons converged | attach-to-reachable, first VM at a site "
          f"(median) | later VM p50 | p95 | link cut | migration outage beyond the {args.pause_ms:g} ms pause, "
          "p50 (max) |")
    print("|---|---|---|---|---|---|---|---|")
    for c, r in res.items():
        print(f"| {c} | {r['up']:.2f} s | {r['converged']:.2f} s | {statistics.median(r['first']) * 1000:.0f} ms | "
              f"{pct(r['reach'], 50) * 1000:.0f} ms | {pct(r['reach'], 95) * 1000:.0f} ms | {cut_text(r['cut'])} | "
              f"{pct(r['moves'], 50):.1f} ms ({max(r['moves']):.1f} ms) |")
    b, s = res["bgp"], res["static"]
    print(f"bgp: up {b['up']:.2f} s (static {s['up']:.2f} s, ratio {b['up'] / s['up']:.2f}), first VM at a site "
          f"{statistics.median(b['first']) * 1000:.0f} ms (static {statistics.median(s['first']) * 1000:.0f} ms), "
          f"later VM attach-to-reachable p50 "
          f"{pct(b['reach'], 50) * 1000:.0f} ms (static {pct(s['reach'], 50) * 1000:.0f} ms, ratio "
          f"{pct(b['reach'], 50) / pct(s['reach'], 50):.2f}), link cut {cut_text(b['cut'])} (static: {cut_text(s['cut'])}), "
          f"migration outage beyond the pause p50 {pct(b['moves'], 50):.1f} ms (static {pct(s['moves'], 50):.1f} ms; "
          f"PEs in a full mesh {pct(res['bgp, full mesh']['moves'], 50):.1f} ms)")


if __name__ == "__main__":
    main()
