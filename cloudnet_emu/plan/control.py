"""The provider network's own control plane: how provider routers learn each other's routes.

    StaticControl  today's underlay: the planner writes every router's shortest path to every
                   loopback (and to every cloud site's WAN subnet); no daemon runs, nothing
                   to wait for, a cut link stays cut.
    BgpControl     FRR in every provider router's namespace (plan/frr.py renders the files,
                   realize/frr.py starts the daemons and waits): OSPF carries loopbacks, core
                   links and WAN subnets and routes around a cut link; iBGP runs from every
                   PE to the route reflectors (`provider.reflectors`, default the P routers,
                   or the first PE where there is none), or with `reflectors: []` from every
                   PE to every other PE (a full mesh).

The interface is three calls that `plan/build.py` makes in build order:

    core_routes()            after the core links: what makes every loopback reachable
    reach(pe, prefix, dev)   a subnet connected at `pe` on `dev` that every router must reach
    daemons()                at the end: the routing daemons to start (FrrRouter actions)

and `describe()`, the data `inspect` and the convergence wait read (the world's `control`).
Under static the L3VPNs (plan/core.py) are planner-written and ride on these routes; under bgp the
VPLS instances are EVPN L2 VNIs that the PEs' own bgpd advertises (plan/frr.py, plan/core.py), and
the L3VPNs are the VRFs' own BGP over a VXLAN transit, or, on an MPLS core (`vpnv4`), MP-BGP VPNv4
in the PEs' bgpd with LDP's transport labels: `up` then also waits for each planned VRF's remote
prefixes in its kernel table with their label stack (`vrf_tables`).
"""
from __future__ import annotations

import ipaddress

from .. import naming
from ..spec.model import Topology
from . import frr
from .actions import FrrRouter, Route
from .core import Underlay


def _host(prefix: str) -> str:
    return str(ipaddress.ip_network(prefix, strict=False))


def _bare(addr: str) -> str:
    return addr.split("/")[0]


class Control:
    name = ""

    def __init__(self, topo: Topology, underlay: Underlay, vpnv4: bool = False):
        self.topo, self.u, self.vpnv4 = topo, underlay, vpnv4
        self.vrf_tables: dict[str, dict[str, list[str]]] = {}   # PE -> VRF device -> labelled prefixes
        self.reached: list[tuple[str, str, str]] = []      # (pe, prefix, dev)
        self.vrf_routes: dict[str, list[str]] = {}         # VRF node -> prefixes it must learn
        self.vrf_sessions: dict[str, list[str]] = {}       # VRF node -> its peers' transit addresses

    def core_routes(self) -> list:
        raise NotImplementedError

    def reach(self, pe: str, prefix: str, dev: str) -> list:
        raise NotImplementedError

    def daemons(self) -> list:
        return []

    def tenant_vrfs(self, running: set, members: list, transit: dict) -> None:
        """A tenant's L3VPN members (plan/core.Member); those whose VRF runs its own FRR (`running`:
        nodes) must, before `up` returns, have every other member's prefixes in their kernel FIB
        and a session to every other member's transit address (and to each CE speaking eBGP to it,
        whose subnet it learns, while the CE learns every other site's); under VPNv4, every
        member's VRF table must hold every other member's prefixes with a label stack.  The CEs
        are listed with the VRFs (`vrfs`): the tenants' own BGP speakers, zebra and bgpd each."""

    def describe(self) -> dict:
        return {"realization": self.name}


class StaticControl(Control):
    name = "static"

    def core_routes(self):
        return [Route(src, self.u.loopback[dst], via=hop.via, dev=hop.dev)
                for (src, dst), hop in sorted(self.u.next_hop.items())]

    def reach(self, pe, prefix, dev):
        net = _host(prefix)
        return [Route(router, net, via=self.u.next_hop[(router, pe)].via, dev=self.u.next_hop[(router, pe)].dev)
                for router in self.u.index if router != pe]


def reflectors(topo) -> list[str]:
    """The route reflectors: `provider.reflectors` (none if it is []), else the P routers, else the
    first PE."""
    routers = topo.provider.routers
    if topo.provider.reflectors is not None:
        return list(topo.provider.reflectors)
    return [r.name for r in routers if r.role == "p"] or [next(r.name for r in routers if r.role == "pe")]


def ibgp_sessions(topo) -> list[tuple[str, str]]:
    """The iBGP sessions, each pair of routers once (sorted): every PE with every reflector and the
    reflectors with each other; without reflectors, every PE with every other PE (a full mesh, one
    BGP hop from PE to PE instead of two)."""
    pes = [r.name for r in topo.provider.routers if r.role == "pe"]
    rrs = reflectors(topo)
    if rrs:
        pairs = [(pe, rr) for pe in pes for rr in rrs if pe != rr] + [(a, b) for i, a in enumerate(rrs) for b in rrs[i + 1:]]
    else:
        pairs = [(a, b) for i, a in enumerate(pes) for b in pes[i + 1:]]
    return list(dict.fromkeys(tuple(sorted(p)) for p in pairs))     # a PE that reflects: one session, not two


class BgpControl(Control):
    name = "bgp"

    def reflectors(self) -> list[str]:
        return reflectors(self.topo)

    def core_routes(self):
        return []

    def reach(self, pe, prefix, dev):
        self.reached.append((pe, _host(prefix), dev))
        return []

    def routers(self) -> list[frr.RouterControl]:
        rrs, pes = self.reflectors(), set(self.u.pe_index)
        pairs = ibgp_sessions(self.topo)
        core_ifs: dict[str, list[str]] = {r: [] for r in self.u.index}
        for link in self.topo.provider.links:
            a, b = link.endpoints
            core_ifs[a].append(b)
            core_ifs[b].append(a)
        out = []
        for r in self.u.index:
            # a reflector's PE peers are its clients; a P router that does not reflect runs the IGP only
            peers = [b if a == r else a for a, b in pairs if r in (a, b)]
            neighbors = tuple(sorted((frr.Neighbor(self.u.lo(p), p, r in rrs and p in pes) for p in peers),
                                     key=lambda n: ipaddress.ip_address(n.address)))
            out.append(frr.RouterControl(
                r, self.topo.provider.asn, self.u.lo(r), tuple(core_ifs[r]),
                tuple(dev for pe, _, dev in self.reached if pe == r), neighbors,
                (self.u.loopback[r],) if r in pes else (), r in pes, self.vpnv4,
                self.vpn_instances(r) if r in pes else ()))
        return out

    def daemons(self):
        return [FrrRouter(rc.name, tuple(frr.render(rc).items())) for rc in self.routers()]

    def vpn_instances(self, pe: str) -> tuple:
        """The tenants' VPNv4 instances at a PE (MPLS core): every tenant, so that a VRF made at
        attach finds its instance already in the running bgpd."""
        if not self.vpnv4:
            return ()
        asn, lo = self.topo.provider.asn, self.u.lo(pe)
        return tuple(frr.VrfVpn(naming.vrf_dev(t.name), f"{lo}:{i + 1}", f"{asn}:{i + 1}")
                     for i, t in enumerate(self.topo.tenants))

    def tenant_vrfs(self, running, members, transit):
        if self.vpnv4:
            for m in members:
                others = [p for o in members if o is not m for p in o.prefixes]
                self.vrf_tables.setdefault(m.placement.pe, {})[m.placement.master] = others
            return
        everything = [p for m in members for p in m.prefixes]
        for m in members:
            node = m.placement.node
            if node not in running:
                continue
            others = [o for o in members if o is not m]
            # what its CEs originate (eBGP) it learns too; it learns what the others have from them
            self.vrf_routes[node] = [p for o in others for p in o.prefixes] + [ce.subnet for ce in m.ces]
            self.vrf_sessions[node] = sorted([_bare(transit[o.placement.pe]) for o in others] +
                                             [ce.address for ce in m.ces], key=ipaddress.ip_address)
            for ce in m.ces:    # a CE speaking eBGP learns every other site of its tenant from its VRF
                self.vrf_routes[ce.site] = [p for p in everything if p != ce.subnet]
                self.vrf_sessions[ce.site] = [ce.pe_address]

    def describe(self):
        routers = self.routers()
        prefixes = [self.u.loopback[r] for r in self.u.index] + [p for _, p, _ in self.reached]
        owner = {self.u.loopback[r]: r for r in self.u.index} | {p: pe for pe, p, _ in self.reached}
        return {"realization": "bgp", "asn": self.topo.provider.asn, "igp": "ospf",
                "reflectors": self.reflectors(),
                "sessions": {rc.name: [n.address for n in rc.neighbors] for rc in routers} | self.vrf_sessions,
                # what each BGP speaker must have learned: every PE's loopback but its own
                "bgp_routes": {rc.name: [self.u.loopback[pe] for pe in self.u.pe_index if pe != rc.name]
                               for rc in routers if rc.neighbors},
                "routes": {r: [p for p in prefixes if owner[p] != r] for r in self.u.index} | self.vrf_routes,
                "daemons": list(frr.LDP_DAEMONS if self.vpnv4 else frr.DAEMONS),
                **({"vrf_tables": self.vrf_tables} if self.vrf_tables else {}),
                **({"vrfs": sorted(self.vrf_routes), "vrf_daemons": list(frr.VRF_DAEMONS)} if self.vrf_routes else {})}


CONTROLS = {"static": StaticControl, "bgp": BgpControl}
