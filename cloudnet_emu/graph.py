"""`cloudnet-emu graph`: the topology as a graphviz drawing (from the description; the kernel is not read).

Provider routers in the middle, enterprise sites in tenant-coloured boxes, cloud
sites as boxes of servers around their OVS switch, VPCs as dashed clusters naming
the sites they join.  Under `provider.control: bgp` the route reflectors are marked (RR, filled)
and every iBGP session is a dotted blue edge between loopbacks (every PE to every reflector,
reflectors with each other; PE to PE in a full mesh): plan/control.py's ibgp_sessions, the ones
plan/frr.py configures.
"""
from __future__ import annotations

import errno
from pathlib import Path

from .errors import RealizeError
from .kernel.exec import run
from .plan.control import ibgp_sessions, reflectors
from .plan.frr import ce_asn
from .spec.model import Topology

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _q(s: str) -> str:
    return '"' + s.replace('"', r'\"') + '"'


def to_dot(t: Topology, control: str | None = None) -> str:
    """Graphviz text of T; CONTROL (default: the topology's provider.control) decides whether the
    reflectors and iBGP sessions are drawn."""
    lines = [f"graph {_q(t.name)} {{", "  graph [rankdir=LR, fontname=Helvetica, label=" + _q(t.name) + "];",
             "  node [fontname=Helvetica, fontsize=10]; edge [fontsize=8];"]
    lines.append('  subgraph cluster_provider { label="provider (MPLS/VPN)"; style=rounded; color=gray;')
    bgp = (control or t.provider.control) == "bgp"
    rrs = reflectors(t) if bgp else []
    for r in t.provider.routers:
        shape = "doublecircle" if r.role == "p" else "circle"
        mark = f", style=filled, fillcolor=\"#cfe0f7\", label={_q(r.name + ' RR')}" if r.name in rrs else ""
        lines.append(f"    {_q(r.name)} [shape={shape}{mark}];")
    lines.append("  }")
    lines += _sessions(t) if bgp else []
    for link in t.provider.links:
        label = " ".join(x for x in (f"{link.bw:g}M" if link.bw else "", link.delay or "") if x)
        lines.append(f"  {_q(link.endpoints[0])} -- {_q(link.endpoints[1])} [label={_q(label)}, penwidth=2];")
    if t.internet:
        lines.append(f"  {_q(t.internet.name)} [shape=egg, label={_q('Internet ' + t.internet.prefix)}];")
        lines.append(f"  {_q(t.internet.name)} -- {_q(t.internet.pe)} [style=dotted];")
    for i, tenant in enumerate(t.tenants):
        colour = COLOURS[i % len(COLOURS)]
        for site in tenant.sites:
            lines.append(f"  subgraph {_q('cluster_' + site.name)} {{ label={_q(f'{tenant.name}: {site.name} {site.subnet}')}; "
                         f"color={_q(colour)};")
            lines.append(f"    {_q(site.name)} [shape=box, label={_q(site.name + ' (CE)')}, color={_q(colour)}];")
            for h in site.hosts:
                lines.append(f"    {_q(h.name)} [shape=note, color={_q(colour)}];")
                lines.append(f"    {_q(h.name)} -- {_q(site.name)};")
            lines.append("  }")
            ebgp = f", eBGP AS {ce_asn(t, site.name)}" if site.routing == "bgp" else ""
            lines.append(f"  {_q(site.name)} -- {_q(site.pe)} [color={_q(colour)}, label={_q('VRF ' + tenant.name + ebgp)}];")
    for cloud in t.cloud_sites:
        lines.append(f"  subgraph {_q('cluster_' + cloud.name)} {{ label={_q('cloud site ' + cloud.name)}; style=filled; "
                     "fillcolor=\"#f4f4f4\";")
        lines.append(f"    {_q(cloud.name)} [shape=box3d, label={_q(cloud.name + ' switch (OVS)')}];")
        for s in cloud.servers:
            lines.append(f"    {_q(s.name)} [shape=component, label={_q(f'{s.name} {s.vcpus} vCPU {s.mem_mb} MB')}];")
            lines.append(f"    {_q(s.name)} -- {_q(cloud.name)};")
        lines.append("  }")
        lines.append(f"  {_q(cloud.name)} -- {_q(cloud.pe)} [label=\"VLAN trunk\"];")
    for v in t.vpcs:
        colour = next((COLOURS[i % len(COLOURS)] for i, x in enumerate(t.tenants) if x.name == v.tenant), "black")
        label = f"VPC {v.name} ({v.type}{', ' + v.subnet if v.subnet else ''})"
        lines.append(f"  {_q('vpc:' + v.name)} [shape=cylinder, style=dashed, color={_q(colour)}, label={_q(label)}];")
        for s in v.sites:
            lines.append(f"  {_q('vpc:' + v.name)} -- {_q(s)} [style=dashed, color={_q(colour)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _sessions(t: Topology) -> list[str]:
    return [f"  {_q(a)} -- {_q(b)} [style=dotted, color=\"#1f5fbf\", constraint=false, label=\"iBGP\"];"
            for a, b in ibgp_sessions(t)]


def render(t: Topology, output: str, control: str | None = None) -> None:
    dot = to_dot(t, control)
    fmt = Path(output).suffix.lstrip(".") or "svg"
    if fmt == "dot":
        Path(output).write_text(dot)
        return
    try:
        res = run(["dot", f"-T{fmt}", "-o", output], check=False, timeout=None, input=dot)
    except RealizeError as exc:
        if exc.errno != errno.ENOENT:
            raise
        raise RealizeError("dot", 2, "graphviz is not installed (./setup.sh installs it)") from None
    if res.returncode != 0:
        raise RealizeError(f"dot -T{fmt}", 0, res.stderr.strip())
