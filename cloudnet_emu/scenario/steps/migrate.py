"""`migrate: {vm, to, pause_ms, garp, probe, tcp, sniff}`: live-migrate a VM, measured (migration/).

The agents the step asks for run around the move: a workload in the VM, probes from a node (the
outage), a TCP connection held across it, sniffers for its gratuitous ARPs; what they saw is kept in
World.migrations for the `garp` and `tcp` checks, and the figures in World.metrics.
"""
from __future__ import annotations

import os
import time
from typing import Iterator, Optional

from pydantic import ConfigDict, Field

from ... import naming
from ...errors import Problem
from ...migration.measure import loss_text, metrics, outage, timeline
from ...migration.migrate import Agent
from ...spec.checks import _ref_hint
from ...spec.model import Name, Strict
from ..kind import StepKind
from ..paper import Paper, cloud_ref, fits, known, server_ref, vm_ref
from ..world import World


class Probe(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    src: str = Field(alias="from", description="the node that sends the probes (and gets the echoes)")
    rate: float = Field(1000, gt=0, le=20000, description="probes per second")
    before_s: float = Field(0.5, ge=0, le=60)
    after_s: float = Field(1.5, ge=0, le=60)


class Migrate(Strict):
    vm: Name
    to: str = Field(description="SITE or SITE/SERVER")
    pause_ms: float = Field(50, ge=0, le=60000)
    garp: bool = True
    probe: Optional[Probe] = None
    tcp: Optional[str] = Field(None, description="a node that holds a TCP connection to the VM across the move")
    sniff: list[str] = Field([], description="sites or nodes where gratuitous ARPs are sniffed (scapy)")


def paper(w: Paper, m: Migrate, path: tuple, i: int, ok: bool) -> Iterator[Problem]:
    yield from vm_ref(w, m.vm, path + ("vm",), "migrate")
    site, slash, server = m.to.partition("/")
    if not site or (slash and not server) or "/" in server:
        yield Problem(f"destination {m.to!r} is not SITE or SITE/SERVER", path=path + ("to",), at_value=True,
                      hint="write a cloud site (dc2) or a cloud site and one of its servers (dc2/dc2-s1)")
        return
    where = list(cloud_ref(w, site, path + ("to",)))
    if server and not where:
        where = list(server_ref(w, site, server, path + ("to",)))
    yield from where
    vm = w.live.get(m.vm)
    if vm is not None and not where and ok:
        if vm.site == site and (not server or server == vm.server):
            yield Problem(f"VM {m.vm!r} is already in {site}" + (f" on {server}" if server else ""),
                          path=path + ("to",), at_value=True, hint="name another cloud site or another server")
        else:
            yield from fits(w, site, server or None, vm.vcpus, vm.mem_mb, path + ("to",), f"VM {m.vm!r}")
    for k, place in enumerate(m.sniff):
        if place not in w.clouds and place not in w.nodes:
            yield Problem(f"unknown place {place!r} to sniff at", path=path + ("sniff", k), at_value=True,
                          hint=_ref_hint(place, set(w.clouds) | w.nodes, "cloud sites, enterprise sites and nodes"))
    if m.probe:
        yield from known(w, m.probe.src, path + ("probe", "from"))
    if m.tcp:
        yield from known(w, m.tcp, path + ("tcp",))
    if vm is not None and ok:
        vm.site, vm.server = site, server or None
        w.sniffed[m.vm] = set(m.sniff)
        if m.tcp:
            w.tcp.add(m.vm)
        else:
            w.tcp.discard(m.vm)


def _sniff_point(w: World, place: str, vm: dict, dst_server: str) -> tuple[Optional[str], str]:
    """(namespace, interface) where a sniffer sees a place's share of the VM's segment."""
    if place in w.world.clouds:     # a trunk between the site switch and a server: every VLAN passes there
        servers = list(w.world.clouds[place].servers)
        server = vm["server"] if vm["server"] in servers else dst_server if dst_server in servers else servers[0]
        return None, naming.trunk_site_side(server)
    if place in w.world.sites:      # a host of the enterprise site's LAN
        host = next(iter(w.world.sites[place].hosts), None)
        if host is None:
            return w.netns(place), "lan"
        return w.netns(host), "eth0"
    return w.netns(place), "eth0"


def migrate(w: World, m: Migrate) -> dict:
    """Migrate with the agents the step asks for (workload, probes, TCP, sniffers); what it measured."""
    vm = dict(w.cloud.data["vms"][m.vm])
    to_site, _, to_server = m.to.partition("/")
    dst_server = to_server or next(iter(w.world.clouds[to_site].servers))
    agents, sniffers = [], {}
    try:
        if m.probe or m.tcp:
            agents.append(Agent(w.netns(m.vm), "workload", 9000, ready=True))
        for place in m.sniff:
            netns, iface = _sniff_point(w, place, vm, dst_server)
            sniffers[place] = Agent(netns, "sniff", iface, 3600, vm["mac"], ready=True)
        tcp = Agent(w.netns(m.tcp), "tcp", vm["ip"], 9000, 3600, ready=True) if m.tcp else None
        probe = Agent(w.netns(m.probe.src), "probe", vm["ip"], 9000, m.probe.rate, 3600) if m.probe else None
        time.sleep(m.probe.before_s if m.probe else 0.3)
        result = w.cloud.migrate(m.vm, to_site, to_server or None, m.pause_ms, m.garp)
        time.sleep(m.probe.after_s if m.probe else 0.5)
        probed = probe.result(stop=True) if probe else None
        held = tcp.result(stop=True) if tcp else None
        seen = {place: a.result(stop=True, timeout=10)["garps"] for place, a in sniffers.items()}
    finally:
        for a in agents + list(sniffers.values()):
            a.kill()
    if probed:
        result["outage"] = outage(probed, m.pause_ms, result["times"])
    w.migrations[m.vm] = {**result, "sniffed": seen, "tcp": held}
    n = sum(1 for k in w.metrics if k.startswith("migration_total_ms")) + 1
    w.metrics[f"migration_total_ms.{n}"] = result["total_ms"]
    w.metrics[f"migration_pause_ms.{n}"] = result["pause_ms"]
    w.metrics[f"migration_precopy_bytes.{n}"] = result["precopy_bytes"]
    w.metrics[f"migration_precopy_ms.{n}"] = result["phases_ms"]["precopy"]
    if probed:
        w.metrics.update(metrics(result["outage"], n))
    if w.report_dir:
        os.makedirs(w.report_dir, exist_ok=True)
        png = os.path.join(w.report_dir, f"migration-{n}-{m.vm}.png")
        timeline(png, result, probed, f"{m.vm}: {result['from']} -> {result['to']}, pause {m.pause_ms:g} ms, "
                 f"{'GARP' if m.garp else 'no GARP'}")
        result["timeline"] = png
    return result


def run(w: World, m: Migrate) -> tuple[list, str]:
    res = migrate(w, m)
    phases = [{"name": k, "duration_ms": v} for k, v in res["phases_ms"].items()]
    detail = (f"{res['vm']} {res['from']} -> {res['to']} in {res['total_ms']:.0f} ms, "
              f"pre-copy {res['precopy_bytes'] >> 20} MB at {res['precopy_mbit_s']} Mbit/s, "
              f"pause {res['pause_ms']:.0f} ms" + (f"; {loss_text(res['outage'])}" if "outage" in res else ""))
    return phases, detail


KIND = StepKind("migrate", Migrate, paper, run, lambda m, detail: f"migrate {m.vm} -> {m.to}")
