"""The VPN core: how a tenant's VRFs on different PEs reach each other.  Two realizations.

    MplsCore   RFC 4364 style: the ingress PE pushes [transport, VPN] labels; P routers
               swap the transport label hop by hop (no penultimate-hop popping, so a
               capture on any core link shows both labels); the egress PE pops the
               transport label, then the VPN label, and looks the packet up in the VRF.
    VxlanCore  one VXLAN segment per tenant (VNI 10000+t) between the loopbacks of the
               tenant's PEs, head-end replication; each PE VRF has an address on it
               (pools.transit) and routes remote site prefixes via the remote PE's address.

The interface is three incremental steps, each returning actions, so that `up` (a full
mesh at once) and the Network Manager (one new VPN endpoint at a time) share them:

    join(tenant, t, placement, peers)       make a PE a member of the tenant's VPN
    greet(tenant, t, member, newcomer)      tell an existing member about a new one
    route(tenant, t, at, prefix, egress)    reach `prefix` behind `egress` from `at`

VPLS instances (L2, `vpls()`) run over VXLAN in both realizations: the kernel has no
Ethernet-over-MPLS pseudowires.  Under control=bgp (`evpn=True`) a VPLS instance is an EVPN
L2 VNI: its VXLAN device learns nothing and names no peer; the PE's own FRR advertises its
MACs and flood list (type-2, type-3) and installs the other PEs', so a new instance is made
at its own PE only (`vpls_greet` has nothing to do).
"""
from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field

from .. import naming
from .. import world as W
from . import addressing, frr
from .actions import Bridge, Enslave, FdbAppend, FrrRouter, MplsRoute, Plan, Route, Veth, Vxlan
from .routers import Placement


@dataclass
class Hop:
    router: str
    via: str          # next router's address on the shared link
    dev: str          # our interface toward it


@dataclass
class Underlay:
    """Provider routers, loopbacks and shortest-path next hops (static routing)."""

    index: dict[str, int]                         # router -> index (addressing)
    pe_index: dict[str, int]                      # PE -> index among PEs
    loopback: dict[str, str]                      # router -> a.b.c.d/32
    next_hop: dict[tuple[str, str], Hop]          # (from, to) -> hop
    pools: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"index": self.index, "pe_index": self.pe_index, "loopback": self.loopback, "pools": self.pools,
                "next_hop": [[a, b, asdict(h)] for (a, b), h in self.next_hop.items()]}

    @classmethod
    def from_dict(cls, d: dict) -> "Underlay":
        return cls(d["index"], d["pe_index"], d["loopback"], {(a, b): Hop(**h) for a, b, h in d["next_hop"]},
                   d["pools"])

    def lo(self, router: str) -> str:
        return addressing.bare(self.loopback[router])


@dataclass
class Member:
    placement: Placement
    prefixes: list[str]
    ces: list = field(default_factory=list)     # frr.CePeer: the member's sites that route by eBGP


class VpnCore:
    name = ""

    def __init__(self, underlay: Underlay, evpn: bool = False, asn: int = 65000):
        self.u, self.evpn, self.asn = underlay, evpn, asn

    def join(self, tenant: str, t: int, p: Placement, peers: list[Placement], ces: tuple = ()) -> list:
        """What makes p a member of the tenant's L3VPN, wired to PEERS; CES (frr.CePeer): the CEs
        that speak eBGP to p's VRF (only where the VRF runs its own BGP, `by_bgp`)."""
        raise NotImplementedError

    def greet(self, tenant: str, t: int, member: Placement, newcomer: Placement) -> list:
        raise NotImplementedError

    def route(self, tenant: str, t: int, at: Placement, prefix: str, egress: Placement) -> list:
        raise NotImplementedError

    def describe(self, tenant: str, t: int, members: list[Placement]) -> dict:
        raise NotImplementedError

    def by_bgp(self, p: Placement) -> bool:
        """Whether the VRF at p exchanges its routes by its own BGP (the planner writes none there)."""
        return False

    def setup(self) -> list:
        """Core-wide state needed before any VPN (MPLS: the transport LSPs)."""
        return []

    def l3vpn(self, plan: Plan, tenant: str, t: int, members: list[Member]) -> None:
        """A full mesh among members, as `up` builds it."""
        places = [m.placement for m in members]
        for m in members:
            plan.add(*self.join(tenant, t, m.placement, [p for p in places if p is not m.placement], tuple(m.ces)))
        for m in members:
            for other in members:
                if other is not m:
                    for prefix in other.prefixes:
                        plan.add(*self.route(tenant, t, m.placement, prefix, other.placement))
        plan.world.vpn[tenant] = W.Vpn.from_dict(self.describe(tenant, t, places))

    # VPLS: a bridge per instance on each PE, VXLAN between them (both realizations).
    def vpls(self, vpc: str, v: int, pe: str, peers: list[str]) -> list:
        flood = () if self.evpn else tuple(self.u.lo(x) for x in peers)
        return [Bridge(pe, naming.vpls_bridge(vpc)),
                Vxlan(pe, naming.vpls_vxlan(vpc), addressing.vpls_vni(v), self.u.lo(pe), into=pe,
                      master=naming.vpls_bridge(vpc), peers=flood, learning=not self.evpn)]

    def vpls_greet(self, vpc: str, pe: str, newcomer: str) -> list:
        return [] if self.evpn else [FdbAppend(pe, naming.vpls_vxlan(vpc), self.u.lo(newcomer))]


class VxlanCore(VpnCore):
    """Under control=bgp with VRFs as namespaces (`by_bgp`) the tenant's transit is an EVPN L2 VNI:
    bridge `tb-<tenant>` and VXLAN device in the PE's namespace (FRR in the PE advertises it), a veth
    from that bridge into the VRF carrying the VRF's transit address, and in the VRF its own FRR
    (plan/frr.render_vrf) that exchanges routes with the tenant's other VRFs over that subnet: no
    flood entry, greeting or route of ours at any other PE.  A kernel VRF (full kernel) has no
    namespace for its own FRR: there the planner's transit stays."""
    name = "vxlan"

    def _addr(self, t: int, pe: str) -> str:
        return addressing.transit(self.u.pools["transit"], t, self.u.index[pe])

    def by_bgp(self, p: Placement) -> bool:
        return self.evpn and p.master is None

    def _vrf_bgp(self, tenant, t, p, peers, ces=()) -> list:
        addr = self._addr(t, p.pe)
        bridge, port = naming.transit_bridge(tenant), naming.transit_port(tenant)
        subnet = str(ipaddress.ip_interface(addr).network)
        vc = frr.VrfControl(p.node, self.asn, addressing.bare(addr), subnet,
                            tuple(addressing.bare(self._addr(t, x.pe)) for x in peers), ces)
        return [Bridge(p.pe, bridge),
                Vxlan(p.pe, naming.vxlan_dev(tenant), addressing.vni(t), self.u.lo(p.pe), into=p.pe, master=bridge,
                      learning=False),
                Veth(p.node, naming.vxlan_dev(tenant), p.pe, port, a_addr=addr, role="vrf",
                     a_mac=addressing.stable_mac(f"{tenant}@{addr}")),
                Enslave(p.pe, port, bridge),
                FrrRouter(p.node, tuple(frr.render_vrf(vc).items()))]

    def join(self, tenant, t, p, peers, ces=()):
        if self.by_bgp(p):
            return self._vrf_bgp(tenant, t, p, peers, ces)
        # The transit address's MAC outlives the device: the other PEs keep a neighbour entry for it
        # while the last VPC endpoint leaves this PE and a new one rebuilds the VRF.
        return [Vxlan(p.pe, naming.vxlan_dev(tenant), addressing.vni(t), self.u.lo(p.pe), into=p.node,
                      addr=self._addr(t, p.pe), master=p.master, peers=tuple(self.u.lo(x.pe) for x in peers),
                      mac=addressing.stable_mac(f"{tenant}@{self._addr(t, p.pe)}"))]

    def greet(self, tenant, t, member, newcomer):
        if self.by_bgp(member):
            return []
        return [FdbAppend(member.node, naming.vxlan_dev(tenant), self.u.lo(newcomer.pe))]

    def route(self, tenant, t, at, prefix, egress):
        if self.by_bgp(at):
            return []       # the VRFs' own BGP carries it
        return [Route(at.node, prefix, via=addressing.bare(self._addr(t, egress.pe)), dev=naming.vxlan_dev(tenant),
                      table=at.table)]

    def describe(self, tenant, t, members):
        return {"core": "vxlan", "vni": addressing.vni(t), "transit": {p.pe: self._addr(t, p.pe) for p in members}}


class MplsCore(VpnCore):
    """Under control=static the planner writes every label: transport LSPs (`setup`), VPN labels and
    the routes that push them.  Under control=bgp (`vpnv4`: kernel VRFs only, `choose` refuses VRF
    namespaces) it writes none: LDP hands out the transport labels, each PE's bgpd allocates its
    VRFs' VPN labels and carries the routes as VPNv4 (plan/frr.py); a VRF is then joined by its
    kernel VRF device alone, which the PE's bgpd already has an instance for."""
    name = "mpls"

    @property
    def vpnv4(self) -> bool:
        return self.evpn

    def by_bgp(self, p: Placement) -> bool:
        return self.vpnv4

    def _label(self, router: str, egress: str) -> int:
        return addressing.transport_label(self.u.index[router], self.u.pe_index[egress])

    def _vpn(self, t: int, pe: str) -> int:
        return addressing.vpn_label(t, self.u.pe_index[pe])

    def setup(self):
        """Transport LSPs toward every PE: swap at every hop, pop-and-look-again at the egress."""
        if self.vpnv4:
            return []           # LDP's
        actions = []
        for egress in self.u.pe_index:
            for router in self.u.index:
                label = self._label(router, egress)
                if router == egress:
                    actions.append(MplsRoute(router, label, dev="lo"))
                else:
                    hop = self.u.next_hop[(router, egress)]
                    actions.append(MplsRoute(router, label, out=(self._label(hop.router, egress),),
                                             via=addressing.bare(hop.via), dev=hop.dev))
        return actions

    def lsps(self) -> dict:
        return {f"{r}->{e}": self._label(r, e) for e in self.u.pe_index for r in self.u.index}

    # A VRF realized as a namespace reaches its PE's label stack through a veth.
    def _vrf_link(self, t: int, p: Placement) -> tuple[str, str]:
        return addressing.p2p(self.u.pools["access"], 4096 + t * 64 + self.u.pe_index[p.pe])

    def join(self, tenant, t, p, peers, ces=()):
        if self.vpnv4:
            return []           # the PE's bgpd has the VRF's instance; its label is bgpd's
        vpn = self._vpn(t, p.pe)
        if p.master is not None:          # kernel VRF: pop the VPN label into the VRF device
            return [MplsRoute(p.pe, vpn, dev=p.master)]
        pe_addr, vrf_addr = self._vrf_link(t, p)
        return [Veth(p.pe, tenant, p.node, p.pe, a_addr=pe_addr, b_addr=vrf_addr, role="vrf"),
                MplsRoute(p.pe, vpn, via=addressing.bare(vrf_addr), dev=tenant)]

    def greet(self, tenant, t, member, newcomer):
        return []

    def route(self, tenant, t, at, prefix, egress):
        if self.vpnv4:
            return []           # VPNv4 carries it
        hop = self.u.next_hop[(at.pe, egress.pe)]
        stack = (self._label(hop.router, egress.pe), self._vpn(t, egress.pe))
        if at.master is not None:         # kernel VRF: push both labels straight from the VRF table
            return [Route(at.pe, prefix, via=addressing.bare(hop.via), dev=hop.dev, table=at.table, labels=stack)]
        # VRF namespace: push the VPN label toward the PE, which swaps it for [transport, VPN]
        pe_addr, _ = self._vrf_link(t, at)
        return [Route(at.node, prefix, via=addressing.bare(pe_addr), dev=at.pe, labels=(stack[1],)),
                MplsRoute(at.pe, stack[1], out=stack, via=addressing.bare(hop.via), dev=hop.dev)]

    def describe(self, tenant, t, members):
        if self.vpnv4:      # route distinguishers as plan/control.vpn_instances writes them
            return {"core": "mpls", "vpnv4": {p.pe: f"{self.u.lo(p.pe)}:{t + 1}" for p in members}}
        return {"core": "mpls", "vpn_labels": {p.pe: self._vpn(t, p.pe) for p in members}}


CORES = {"mpls": MplsCore, "vxlan": VxlanCore}
