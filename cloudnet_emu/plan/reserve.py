"""Bandwidth reservations, planned: where a reservation sits, whether it fits, how its packets
are recognised.  Pure: data in, data out (the Network Manager realizes the result).

Two shapes, after the hose model of Duffield et al. (the paper's reference [4]):

    pipe   between two endpoints A and B (VMs, enterprise hosts or sites), `bw` Mbit/s each way
    hose   one enterprise site of a VPC: `egress` Mbit/s from it to the VPC and `ingress` Mbit/s
           from the VPC into it, whatever the VM; held on the site's attachment circuit and on
           the core paths to the PEs where the VPC has VMs, once per link direction (the hose
           bounds the site's total whichever PE it goes to; managers/reservations.py)

A reservation occupies *hops*: one egress interface each, on the provider's side of the path.

    attachment circuit  CE --dev <pe>--> VRF node,  VRF node --dev <site>--> CE   (enterprise sites)
    core link           router --dev <peer>--> peer                            (shortest path)

Cloud-site hand-offs are inside the data center and are not shaped.  Each hop is one HTB class
(rate = the reservation, ceil = the link) under the link's class 1:1, beside best effort (1:2,
which gets what is left); a u32 filter per hop sends the reservation's packets to its class.
The filter reads the packet as it is on that hop:

    ip      attachment circuits: plain IPv4                     src @12, dst @16
    vxlan   outer IPv4 + UDP 4789, VNI, inner Ethernet + IPv4   VNI @32, src @62, dst @66
    mpls    [transport label][VPN label] + IPv4 (no PHP)        VPN label @4, src @20, dst @24
"""
from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import Optional

from ..errors import AdmissionError
from . import addressing
from ..world import CoreLink, Site, World
from .core import Underlay

CLASS_BASE = 0x100          # reservation slot n -> class 1:(0x100+n)
MAX_SLOT = 999              # filter prio = 1 + 1000 * (64 - specificity) + slot  (u32 prio < 65536)


@dataclass
class End:
    """One end of a pipe, resolved against the running testbed."""
    name: str
    prefix: str                      # a.b.c.d/32 or a site's subnet
    pe: str
    site: Optional[str] = None       # enterprise site (its attachment circuit is a hop)


@dataclass
class Hop:
    node: str
    dev: str
    link: str                        # "pe1--p1" (sorted), or "acme-hq--pe1" for an attachment circuit
    direction: str                   # "pe1>p1"
    rate: float                      # Mbit/s
    encap: str                       # ip | vxlan | mpls
    matches: list = field(default_factory=list)   # u32 argv lists: ["match", "u32", VALUE, MASK, "at", OFF, ...]
    capacity: Optional[float] = None
    delay_ms: float = 0.0
    loss: float = 0.0
    specificity: int = 0             # prefix length of source + destination: longer matches first


def specificity(src: str, dst: str) -> int:
    return ipaddress.IPv4Network(src).prefixlen + ipaddress.IPv4Network(dst).prefixlen


def filter_prio(hop: "Hop | dict", slot: int) -> int:
    spec = hop.specificity if isinstance(hop, Hop) else hop["specificity"]
    return 1 + 1000 * (64 - spec) + slot


def link_id(a: str, b: str) -> str:
    return "--".join(sorted((a, b)))


class Links:
    """Shaped links of a running testbed: capacity and delay per link, from the plan's record."""

    def __init__(self, info: "dict | World"):
        world = World.of(info)
        self.u = Underlay.from_dict(world.underlay.to_dict())
        self.core: dict[str, CoreLink] = {link_id(c.a, c.b): c for c in world.core_links}
        self.sites: dict[str, Site] = world.sites

    def capacity(self, link: str) -> Optional[float]:
        entry = self._entry(link)
        return entry.bw if entry else None

    def _entry(self, link: str) -> "CoreLink | Site | None":
        """A core link, or the enterprise site whose access link it is (None: neither)."""
        entry = self.core.get(link)
        if entry is None:
            site = next((s for s, m in self.sites.items() if link_id(s, m.pe) == link), None)
            entry = self.sites.get(site)
        return entry

    def delay(self, link: str) -> float:
        entry = self._entry(link)
        return entry.delay_ms if entry else 0.0

    def loss(self, link: str) -> float:
        entry = self._entry(link)
        return entry.loss if entry else 0.0

    def one_way_delay(self, a: End, b: End, declared: bool = False) -> float:
        """ms from a to b: the attachment circuits of enterprise ends plus the core path
        (`declared`: as the topology says; else as realized, 0 where netem was degraded)."""
        key = "declared_delay_ms" if declared else "delay_ms"
        total = sum(getattr(self.sites[e.site], key) or 0.0 for e in (a, b) if e.site)
        for router, _dev, peer in self.core_path(a.pe, b.pe):
            total += getattr(self.core[link_id(router, peer)], key) or 0.0
        return total

    def core_path(self, src_pe: str, dst_pe: str) -> list[tuple[str, str, str]]:
        """(router, dev, next router) along the static shortest path."""
        path, cur = [], src_pe
        while cur != dst_pe:
            hop = self.u.next_hop[(cur, dst_pe)]
            path.append((cur, hop.dev, hop.router))
            cur = hop.router
        return path


def _u32_ip(off_src: int, src: str, off_dst: int, dst: str) -> list[str]:
    """Matches for an IPv4 source and destination prefix at these offsets (u32 keys must be
    aligned: a 4-byte key at a 2-byte offset is split into two 16-bit keys)."""
    out = []
    for off, prefix in ((off_src, src), (off_dst, dst)):
        net = ipaddress.IPv4Network(prefix)
        value, mask = int(net.network_address), int(net.netmask)
        if not mask:
            continue
        if off % 4 == 0:
            out += ["match", "u32", f"0x{value:08x}", f"0x{mask:08x}", "at", str(off)]
            continue
        for half, shift in ((0, 16), (2, 0)):
            m = (mask >> shift) & 0xffff
            if m:
                out += ["match", "u16", f"0x{(value >> shift) & 0xffff:04x}", f"0x{m:04x}", "at", str(off + half)]
    return out


def classifier(encap: str, src: str, dst: str, vni: int = 0, label: int = 0) -> list[str]:
    if encap == "ip":
        return _u32_ip(12, src, 16, dst)
    if encap == "vxlan":
        return (["match", "u32", "0x000012b5", "0x0000ffff", "at", "20",          # UDP dport 4789
                 "match", "u32", f"0x{vni << 8:08x}", "0xffffff00", "at", "32"] + _u32_ip(62, src, 66, dst))
    if encap == "mpls":
        return ["match", "u32", f"0x{label << 12:08x}", "0xfffff000", "at", "4"] + _u32_ip(20, src, 24, dst)
    raise ValueError(f"unknown encapsulation {encap}")


def pipe_hops(links: Links, core: str, t: int, a: End, b: End, rate: float) -> list[Hop]:
    """Every shaped egress interface a -> b crosses, with its classifier."""
    hops = []
    if a.site:
        hops.append(Hop(a.site, a.pe, link_id(a.site, a.pe), f"{a.site}>{a.pe}", rate, "ip"))
    for router, dev, peer in links.core_path(a.pe, b.pe):
        encap = "mpls" if core == "mpls" else "vxlan"
        hops.append(Hop(router, dev, link_id(router, peer), f"{router}>{peer}", rate, encap))
    if b.site:
        hops.append(Hop(links.sites[b.site].vrf_node, b.site, link_id(b.site, b.pe), f"{b.pe}>{b.site}",
                        rate, "ip"))
    label = addressing.vpn_label(t, links.u.pe_index[b.pe]) if b.pe in links.u.pe_index else 0
    for h in hops:
        h.matches = [classifier(h.encap, a.prefix, b.prefix, vni=addressing.vni(t), label=label)]
        h.capacity = links.capacity(h.link)
        h.delay_ms = links.delay(h.link)
        h.loss = links.loss(h.link)
        h.specificity = specificity(a.prefix, b.prefix)
    return [h for h in hops if h.capacity is not None]      # unshaped links are not admitted on


def admit(hops: list[Hop], used: dict[str, float], what: str) -> None:
    """Admission control: every hop's link direction must have `rate` left (AdmissionError names
    the bottleneck and what is free there)."""
    need: dict[str, float] = {}
    for h in hops:
        need[h.direction] = need.get(h.direction, 0.0) + h.rate
    for h in hops:
        free = h.capacity - used.get(h.direction, 0.0)
        if need[h.direction] > free + 1e-9:
            raise AdmissionError(
                f"{what}: link {h.direction.replace('>', ' -> ')} has {free:g} Mbit/s free of {h.capacity:g}, "
                f"needs {need[h.direction]:g}",
                hint="reserve less, release another reservation (`cloudnet-emu reserve list`), "
                     "or place the VM where the path has room")


def usage(hop_lists) -> dict[str, float]:
    used: dict[str, float] = {}
    for hops in hop_lists:
        for h in hops:
            used[h["direction"]] = used.get(h["direction"], 0.0) + h["rate"]
    return used


def to_dicts(hops: list[Hop]) -> list[dict]:
    return [asdict(h) for h in hops]
