"""Many migrations back and forth under a probe stream, and what they may leave behind.

    soak(testbed, vm, sites, count)   migrates VM `vm` round-robin over `sites` COUNT times while one
                                      UDP probe stream (acme-h1 -> the VM, echoed by a workload in the
                                      VM) runs through all of them; each migration's outage is measured
                                      on the slice of the stream sent during it
    snapshot(testbed)                 links, addresses, routes (all tables) of every namespace of the
                                      testbed, and the OVS configuration: equal before and after means
                                      no stale port, tunnel or route
    leftovers(mac)                    FDB entries for MAC on any OVS or Linux bridge, and agent processes

Used by bench/soak.py (300 migrations) and tests/integration/test_migration.py (30 in CI).
"""
from __future__ import annotations

import statistics
import time
from typing import Optional

from .. import naming, state
from ..managers import open_managers
from ..kernel import ns
from ..kernel.exec import run
from .measure import outage
from .migrate import Agent

AGENT_MODULE = "cloudnet_emu.migration.agent"


def _out(argv: list[str], netns: Optional[str] = None) -> str:
    return run(argv, netns=netns, check=False, timeout=60).stdout


def snapshot(testbed: str) -> dict:
    """Everything of the testbed a detach must restore: links, addresses, routes (all tables), OVS."""
    def stateless(argv, netns):
        # without the operational state column: a bridge goes from UNKNOWN to UP on its own
        return [" ".join(line.split()[:1] + line.split()[2:]) for line in _out(argv, netns).splitlines()]
    out = {}
    for name in ns.listing():
        if name.startswith(f"cn-{testbed}-"):
            out[name] = [stateless(["ip", "-br", "link"], name), stateless(["ip", "-br", "addr"], name),
                         _out(["ip", "route", "show", "table", "all"], name)]
    out["ovs"] = "\n".join(line for line in _out(["ovs-vsctl", "show"]).splitlines() if "ovs_version" not in line)
    return out


def leftovers(mac: str) -> list[str]:
    """What still remembers MAC (OVS and Linux bridge FDBs) and migration agents still running."""
    found = []
    for br in _out(["ovs-vsctl", "list-br"]).split():
        if mac in _out(["ovs-appctl", "fdb/show", br]):
            found.append(f"FDB entry for {mac} on OVS bridge {br}")
    for ns_name in ns.listing():
        if mac in _out(["bridge", "fdb", "show"], ns_name):
            found.append(f"FDB entry for {mac} in {ns_name}")
    agents = _out(["pgrep", "-af", AGENT_MODULE]).strip()
    if agents:
        found.append(f"migration agents still running: {agents}")
    return found


def soak(testbed: str, vm: str, sites: list[str], count: int, pause_ms: float = 10, src: str = "acme-h1",
         rate: float = 300, progress=lambda s: None) -> dict:
    """COUNT migrations of VM over SITES in turn with one probe stream from SRC running through all of them."""
    cloud, _ = open_managers(testbed, state.read(testbed))
    ip = cloud.data["vms"][vm]["ip"]
    workload = Agent(naming.netns(testbed, vm), "workload", 9000, ready=True)
    probe = Agent(naming.netns(testbed, src), "probe", ip, 9000, rate, 24 * 3600)
    runs = []
    try:
        time.sleep(0.5)
        t0 = time.time()
        here = cloud.data["vms"][vm]["site"]
        for i in range(count):
            to = sites[(sites.index(here) + 1) % len(sites)] if here in sites else sites[0]
            res = cloud.migrate(vm, to, None, pause_ms)
            runs.append(res)
            here = to
            if (i + 1) % 25 == 0:
                progress(f"{i + 1}/{count} migrations")
        elapsed = time.time() - t0
        time.sleep(0.5)
        probed = probe.result(stop=True)
    finally:
        probe.kill()
        workload.kill()
    sent = {int(k): v for k, v in probed["sent"].items()}
    echoed = {int(k): v for k, v in probed["echoed"].items()}
    outages = []
    for r in runs:
        a, b = r["times"]["start"] - 0.05, r["times"]["end"] + 0.2
        window = {"sent": {k: v for k, v in sent.items() if a <= v <= b}}
        window["echoed"] = {k: echoed[k] for k in window["sent"] if k in echoed}
        outages.append(outage(window, r["pause_ms"]))
    out_ms = sorted(o["outage_ms"] for o in outages)

    def pct(p):
        return out_ms[min(len(out_ms) - 1, int(round(p / 100 * (len(out_ms) - 1))))] if out_ms else 0.0
    return {"migrations": len(runs), "seconds": round(elapsed, 2),
            "migrations_per_s": round(len(runs) / elapsed, 3) if elapsed else 0.0,
            "outage_p50_ms": pct(50), "outage_p95_ms": pct(95), "outage_max_ms": out_ms[-1] if out_ms else 0.0,
            "not_recovered": sum(1 for o in outages if o.get("recovered") is False),
            "probes_sent": len(sent), "probes_lost": len(sent) - len(echoed),
            "migration_p50_ms": statistics.median(r["total_ms"] for r in runs) if runs else 0.0,
            "outages": outages}
