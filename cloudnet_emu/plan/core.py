"""The VPN core: how a tenant's VRFs on different PEs reach each other.  Two realizations.

    MplsCore   RFC 4364 style: the ingress PE pushes [transport, VPN] labels; P routers
               swap the transport label hop by hop (no penultimate-hop popping, so a
               capture on any core link shows both labels); the egress PE pops the
               transport label, then the VPN label, and looks the packet up in the VRF.
    VxlanCore  one VXLAN segment per tenant (VNI 10000+t) between the loopbacks of the
               tenant's PEs, head-end replication; each PE VRF has an address on it
               (pools.transit) and routes remote site prefixes via the remote PE's address.

`l3vpn(tenant, members)` is the whole interface: members are (Placement, prefixes
behind it); the core wires every member to every other one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import naming
from . import addressing
from .actions import MplsRoute, Plan, Route, Veth, Vxlan
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
    core_ifs: dict[str, list[str]] = field(default_factory=dict)   # router -> core interfaces


@dataclass
class Member:
    placement: Placement
    prefixes: list[str]


class VpnCore:
    name = ""

    def __init__(self, plan: Plan, underlay: Underlay, pools):
        self.plan, self.u, self.pools = plan, underlay, pools

    def l3vpn(self, tenant: str, tenant_index: int, members: list[Member]) -> None:
        raise NotImplementedError


class VxlanCore(VpnCore):
    name = "vxlan"

    def l3vpn(self, tenant, tenant_index, members):
        vni = addressing.vni(tenant_index)
        dev = naming.vxlan_dev(tenant)
        addr = {m.placement.pe: addressing.transit(self.pools.transit, tenant_index, self.u.index[m.placement.pe])
                for m in members}
        for m in members:
            p = m.placement
            peers = tuple(addressing.bare(self.u.loopback[o.placement.pe]) for o in members if o is not m)
            self.plan.add(Vxlan(p.pe, dev, vni, addressing.bare(self.u.loopback[p.pe]), into=p.node,
                                addr=addr[p.pe], master=p.master, peers=peers))
            for other in members:
                if other is not m:
                    for prefix in other.prefixes:
                        self.plan.add(Route(p.node, prefix, via=addressing.bare(addr[other.placement.pe]),
                                            dev=dev, table=p.table))
        self.plan.info.setdefault("vpn", {})[tenant] = {"core": "vxlan", "vni": vni, "transit": addr}


class MplsCore(VpnCore):
    name = "mpls"

    def __init__(self, plan, underlay, pools):
        super().__init__(plan, underlay, pools)
        self._lsps()

    def _label(self, router: str, egress: str) -> int:
        return addressing.transport_label(self.u.index[router], self.u.pe_index[egress])

    def _lsps(self):
        """Transport LSPs toward every PE: swap at every hop, pop-and-look-again at the egress."""
        for egress in self.u.pe_index:
            for router in self.u.index:
                label = self._label(router, egress)
                if router == egress:
                    self.plan.add(MplsRoute(router, label, dev="lo"))
                else:
                    hop = self.u.next_hop[(router, egress)]
                    self.plan.add(MplsRoute(router, label, out=(self._label(hop.router, egress),),
                                            via=addressing.bare(hop.via), dev=hop.dev))
        self.plan.info["lsp"] = {f"{r}->{e}": self._label(r, e) for e in self.u.pe_index for r in self.u.index}

    def l3vpn(self, tenant, tenant_index, members):
        labels = {}
        for m in members:
            p = m.placement
            vpn = addressing.vpn_label(tenant_index, self.u.pe_index[p.pe])
            labels[p.pe] = vpn
            inward = self._inward(p, tenant_index)
            self.plan.add(MplsRoute(p.pe, vpn, **inward))
            for other in members:
                if other is m:
                    continue
                egress = other.placement.pe
                their_vpn = addressing.vpn_label(tenant_index, self.u.pe_index[egress])
                hop = self.u.next_hop[(p.pe, egress)]
                stack = (self._label(hop.router, egress), their_vpn)
                for prefix in other.prefixes:
                    if p.master is not None:   # kernel VRF: push both labels straight from the VRF table
                        self.plan.add(Route(p.pe, prefix, via=addressing.bare(hop.via), dev=hop.dev,
                                            table=p.table, labels=stack))
                    else:                      # VRF namespace: push the VPN label; the PE adds transport
                        self.plan.add(Route(p.node, prefix, via=self._pe_side(p), dev=p.pe, labels=(their_vpn,)))
                if p.master is None:
                    self.plan.add(MplsRoute(p.pe, their_vpn, out=stack, via=addressing.bare(hop.via), dev=hop.dev))
        self.plan.info.setdefault("vpn", {})[tenant] = {"core": "mpls", "vpn_labels": labels}

    # VRF-as-namespace needs a link between the PE and its VRF namespace to carry labels.
    def _link(self, p: Placement, tenant_index: int) -> tuple[str, str]:
        k = 4096 + tenant_index * 64 + self.u.pe_index[p.pe]
        return addressing.p2p(self.pools.access, k)

    def _pe_side(self, p: Placement) -> str:
        return addressing.bare(self._links[(p.pe, p.tenant)][0])

    def _inward(self, p: Placement, tenant_index: int) -> dict:
        if p.master is not None:
            return {"dev": p.master}
        self._links = getattr(self, "_links", {})
        pe_addr, vrf_addr = self._link(p, tenant_index)
        self._links[(p.pe, p.tenant)] = (pe_addr, vrf_addr)
        self.plan.add(Veth(p.pe, p.tenant, p.node, p.pe, a_addr=pe_addr, b_addr=vrf_addr, role="vrf"))
        return {"via": addressing.bare(vrf_addr), "dev": p.tenant}


CORES = {"mpls": MplsCore, "vxlan": VxlanCore}
