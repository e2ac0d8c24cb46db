"""The Network Manager: PE VPN endpoints for VPCs, and their advertisement to the other PEs.

It owns the provider side: tenant VRFs on PEs (kernel VRF or namespace), the attachment
circuit (it adopts the hand-off cable the Cloud Manager leaves in the root namespace and
names it <site>.<vlan>), VPLS instances, and the core state that lets the tenant's other
PEs reach the new endpoint (MPLS label routes or VXLAN membership and routes).  Under
control=bgp a VPLS instance is an EVPN VNI: the PEs' FRR tells the others, none is greeted.

    unit "vrf:<pe>/<tenant>"      a VRF it had to create (the plan made the others)
    unit "member:<pe>/<tenant>"   a PE it made a member of the tenant's L3VPN
    unit "vpls:<vpc>@<pe>"        a VPLS instance on a PE; at the enterprise site's PE it also wires
                                  the site's LAN, and the VPC holds it from its creation (`provision`)
    unit "ep:<vpc>@<site>"        one VPC endpoint: the attachment circuit
    unit "host:<vpc>/<ip>"        an L3VPN VM's host route, advertised to the tenant's other PEs
    data "acl", "acl_at"        a VPC's access rules and the PEs they are applied at (acl/pe.py)
    unit "resv:<name>"            a bandwidth reservation: HTB classes + filters on its path (reservations.py)

L3VPN VMs are advertised as host routes (/32): a VPC may span cloud sites with one
subnet, and a migrating VM keeps its address by its host route moving to another PE.
"""
from __future__ import annotations

import time
from dataclasses import asdict

from .. import naming
from ..errors import StateError
from ..plan import addressing
from ..plan.actions import Adopt, Enslave, FdbForget, FibWait, Route, Veth
from ..plan.core import CORES, Underlay
from ..plan.routers import ROUTERS, Placement
from ..world import World
from ..world.parts import Vrf
from ..acl.pe import AclAtPes
from . import flap
from .ledger import Ledger
from .messages import EndpointReply, EndpointRequest, ReleaseRequest, wire
from .reservations import ReservationBook

ACCESS_BASE = 8192      # attachment /30s for cloud endpoints: after the plan's access links and VRF links


def release_order(units: dict, names: list[str]) -> list[str]:
    """The units NAMES in the order to release them: newest first, but a unit that made
    namespaces (a VRF made at attach) after every unit that only acts in namespaces (its
    membership: the transit, the VRF's own FRR).  The ledger's units come back sorted by name
    once reloaded, so "vrf:pe3/acme" would otherwise go before "member:pe3/acme": its namespace
    deleted while its FRR still ran, which kept the namespace alive with its veth to the PE, and
    the next attach there met the old veth (lookup vx-<tenant> failed, ENODEV)."""
    return sorted(reversed(names), key=lambda u: bool(units[u]["nodes"]))


class NetworkManager:
    """`executor`: what the ledger hands its actions to (as for the Cloud Manager)."""

    def __init__(self, testbed: str, record: dict, executor=None):
        self.testbed = testbed
        self.world = World.from_info(record["info"])     # read here, never written: `vpc create` writes state.json
        self.real = record["realizations"]
        self.u = Underlay.from_dict(self.world.underlay.to_dict())     # the planner's form: next hops as Hops
        self.bgp = self.real.get("control") == "bgp"
        self.core = CORES[self.real["core"]](self.u, evpn=self.bgp, asn=self.world.control.asn or 65000)
        self.ledger = Ledger(testbed, "network", executor)
        self.acls = AclAtPes(self)
        self.book = ReservationBook(testbed, self.world, self.real["core"], self.ledger, self._t)

    # --- the interface: data in, data out -------------------------------------------
    def endpoint(self, message: dict) -> dict:
        req = EndpointRequest(**message)
        if self.ledger.has(self._ep(req.vpc, req.site)):
            raise StateError(f"VPC {req.vpc} already has an endpoint in {req.site}")
        reply = self._l3vpn(req) if req.type == "l3vpn" else self._vpls(req)
        return wire(reply)

    def advertise(self, message: dict) -> dict:
        """Host route of an L3VPN VM behind endpoint vpc@site, at its PE and at every other member."""
        vpc, site, ip = message["vpc"], message["site"], message["ip"]
        ep = self.ledger.meta(self._ep(vpc, site))
        t = self._t(ep["tenant"])
        p = self._endpoint_placement(ep["tenant"], ep["pe"])
        prefix = f"{ip}/32"
        actions = [Route(p.node, prefix, via=addressing.bare(ep["ce_addr"]), dev=ep["pe_if"], table=p.table)]
        for pe in sorted(self._joined(ep["tenant"]) - {ep["pe"]}):
            actions += self.core.route(ep["tenant"], t, self._endpoint_placement(ep["tenant"], pe), prefix, p)
        self.ledger.build(f"host:{vpc}/{ip}", [], actions,
                          meta={"tenant": ep["tenant"], "pe": ep["pe"], "prefix": prefix, "site": site,
                                "vm": message.get("vm")})
        reply = {"advertised": prefix, "pe": ep["pe"]}
        carried = self._carried_by_bgp(ep["tenant"], ep["pe"])
        if carried:
            # BGP carries it: done when every remote VRF's kernel routes it via this PE (its transit
            # address), or, under VPNv4, with a label stack in the VRF's table.
            t0 = time.perf_counter()
            if self.core.name == "mpls":
                wait = FibWait(tuple(carried), prefix, None, vrf=naming.vrf_dev(ep["tenant"]))
            else:
                wait = FibWait(tuple(carried), prefix, addressing.bare(self._transit(ep["tenant"], ep["pe"])))
            # and every CE of the tenant that learns it by eBGP from its VRF (one bgpd hop more)
            ces = [FibWait((name,), prefix, addressing.bare(site.access["pe"]))
                   for name, site in sorted(self.world.sites.items())
                   if site.tenant == ep["tenant"] and site.routing == "bgp"]
            self.ledger.run([wait] + ces)
            reply["propagated_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        self.acls.sync(vpc)         # access rules follow the VM (resolved to its address, at its PE)
        return reply

    def acl(self, message: dict) -> dict:
        """Replace a VPC's access rules ({vpc, acl: {default, rules} or None}) and apply them at its PEs."""
        return self.acls.set(message["vpc"], message.get("acl"))

    def acl_list(self, message: dict) -> dict:
        return {"acls": self.acls.listing(message.get("vpc"))}

    def reserve(self, message: dict) -> dict:
        """Admit and realize a bandwidth reservation, or several at once ({"requests": [...]}: a
        migrating VM's); `replace`: change existing ones, admitted as if they were gone; `dry_run`:
        only admit."""
        replace, dry_run = message.pop("replace", False), message.pop("dry_run", False)
        reqs = message["requests"] if "requests" in message else [message]
        if dry_run:
            return {"hops": [[h.direction for h in hops] for hops in self.book.admit(reqs, replace)]}
        metas = self.book.reserve(reqs, replace)
        return {"reservations": metas} if "requests" in message else metas[0]

    def unreserve(self, message: dict) -> dict:
        return self.book.release(message["name"])

    def reservations(self, message: dict) -> dict:
        return {"reservations": [self.book.get(n) for n in self.book.names()],
                "used": self.book.used()}

    def withdraw(self, message: dict) -> dict:
        self.ledger.undo(f"host:{message['vpc']}/{message['ip']}")
        self.acls.sync(message["vpc"])
        return {"withdrawn": f"{message['ip']}/32"}

    def sample_macs(self, message: dict) -> dict:
        """{vpc}: locate the VPC's MACs on its VPLS bridges, record moves; flags MAC flapping (flap.py)."""
        return flap.sample(self, message["vpc"], message.get("time"))

    def forget(self, message: dict) -> dict:
        """A VPLS VM is gone: its MAC leaves the VPLS bridges and the enterprise LAN bridge."""
        vpc, mac = message["vpc"], message["mac"]
        places = [(u.split("@")[1], naming.vpls_bridge(vpc)) for u in self.ledger.units if u.startswith(f"vpls:{vpc}@")]
        v = self.world.vpcs.get(vpc)
        places += [(s, "lan") for s in (v.sites if v else [])]
        self.ledger.run([FdbForget(node, bridge, mac) for node, bridge in places])
        return {"forgot": mac}

    def release(self, message: dict) -> dict:
        req = ReleaseRequest(**message)
        ep = self._ep(req.vpc, req.site)
        if not self.ledger.has(ep):
            return {"released": False}
        users_of = [u for u, e in self.ledger.units.items() if ep in e["users"]]
        self.ledger.undo(ep)
        for unit in release_order(self.ledger.units, users_of):
            self.ledger.release(unit, ep)
        self._free_access(ep)
        self.acls.sync(req.vpc)     # the VPC's last endpoint takes its access rules with it
        return {"released": True}

    # --- helpers ------------------------------------------------------------------
    def _carried_by_bgp(self, tenant: str, pe: str) -> list[str]:
        """The tenant's VRF nodes on other PEs that learn `pe`'s routes from the VRFs' own BGP
        (control=bgp, VRFs as namespaces, VXLAN core); empty where the planner writes routes."""
        others = [self._endpoint_placement(tenant, other) for other in sorted(self._joined(tenant) - {pe})]
        return [p.node for p in others if self.core.by_bgp(p)]

    def _transit(self, tenant: str, pe: str) -> str:
        return addressing.transit(self.u.pools["transit"], self._t(tenant), self.u.index[pe])

    @staticmethod
    def _ep(vpc: str, site: str) -> str:
        return f"ep:{vpc}@{site}"

    def _t(self, tenant: str) -> int:
        return self.world.tenant_index(tenant)

    def _access(self, ep: str) -> tuple[str, str]:
        used = self.ledger.data.setdefault("access", {})
        k = next(i for i in range(ACCESS_BASE, ACCESS_BASE + 4096) if i not in used.values())
        used[ep] = k
        self.ledger.save()
        return addressing.p2p(self.u.pools["access"], k)

    def _free_access(self, ep: str):
        self.ledger.data.setdefault("access", {}).pop(ep, None)
        self.ledger.save()

    @staticmethod
    def _planned(vrf: Vrf) -> Placement:
        """A VRF the plan made (world.vrfs), as the Placement the routers and cores take."""
        return Placement(vrf.pe, vrf.tenant, vrf.node, vrf.master, vrf.table)

    def placement(self, pe: str, tenant: str, ep: str) -> Placement:
        key = f"{pe}/{tenant}"
        if key in self.world.vrfs:
            return self._planned(self.world.vrfs[key])
        unit = f"vrf:{key}"
        if not self.ledger.has(unit):
            p, nodes, actions = ROUTERS[self.real["router"]].create(pe, tenant, self._t(tenant))
            self.ledger.build(unit, nodes, actions, meta={"placement": asdict(p)})
        self.ledger.use(unit, ep)
        return Placement(**self.ledger.meta(unit)["placement"])

    def _members(self, tenant: str) -> dict[str, tuple[Placement, list[str]]]:
        """PEs with something of the tenant behind them: their VRF and plan-time prefixes."""
        out: dict[str, tuple[Placement, list[str]]] = {}
        for site in self.world.tenant_sites(tenant).values():
            p = self._planned(self.world.vrfs[f"{site.pe}/{tenant}"])
            out.setdefault(site.pe, (p, []))[1].append(site.subnet)
        return out

    def _joined(self, tenant: str) -> set[str]:
        vpn = self.world.vpn.get(tenant)
        planned = (set(vpn.transit or {}) | set(vpn.vpn_labels or {}) | set(vpn.vpnv4 or {})) if vpn else set()
        mine = {u.split(":")[1].split("/")[0] for u in self.ledger.units.of_kind("member") if u.endswith(f"/{tenant}")}
        return planned | mine

    def _endpoints(self, tenant: str) -> list[dict]:
        metas = [self.ledger.units[u]["meta"] for u in self.ledger.units.of_kind("ep")]
        return [m for m in metas if m.get("tenant") == tenant and m.get("type") == "l3vpn"]

    def _hosts(self, tenant: str, pe: str) -> list[str]:
        return [e["meta"]["prefix"] for u, e in self.ledger.units.items() if u.startswith("host:")
                and e["meta"]["tenant"] == tenant and e["meta"]["pe"] == pe]

    def _ensure_joined(self, tenant: str, p: Placement, ep: str, own: bool = True):
        """Make p's PE a member of the tenant's L3VPN, wired to every member already there.  `own`:
        p is the endpoint's own PE.  Where the planner writes the routes, an endpoint elsewhere uses
        p's membership too (p holds routes toward it); where the VRFs' BGP carries them, p's
        membership is p's alone and goes with its last endpoint."""
        t = self._t(tenant)
        joined = self._joined(tenant)
        unit = f"member:{p.pe}/{tenant}"
        if p.pe in joined:
            if self.ledger.has(unit) and (own or not self.core.by_bgp(p)):
                self.ledger.use(unit, ep)
            return
        members = self._members(tenant)
        others = {pe: members[pe] if pe in members else (self._endpoint_placement(tenant, pe), [])
                  for pe in joined}
        for pe in others:
            others[pe][1].extend(self._hosts(tenant, pe))
        mine = members.get(p.pe, (p, []))[1] + self._hosts(tenant, p.pe)
        actions = list(self.core.join(tenant, t, p, [o for o, _ in others.values()]))
        for other, prefixes in others.values():
            actions += self.core.greet(tenant, t, other, p)
            for prefix in prefixes:
                actions += self.core.route(tenant, t, p, prefix, other)
            for prefix in mine:
                actions += self.core.route(tenant, t, other, prefix, p)
        self.ledger.build(unit, [], actions, users=[ep], mpls_nodes=self._mpls_nodes(p.pe))

    def _endpoint_placement(self, tenant: str, pe: str) -> Placement:
        key = f"{pe}/{tenant}"
        if key in self.world.vrfs:
            return self._planned(self.world.vrfs[key])
        return Placement(**self.ledger.meta(f"vrf:{key}")["placement"])

    def _mpls_nodes(self, *pes) -> tuple:
        return tuple(pes) if self.real["core"] == "mpls" else ()

    # --- L3VPN: the cloud site becomes a new routed site of the tenant's VPN ----------
    def _l3vpn(self, req: EndpointRequest) -> EndpointReply:
        ep = self._ep(req.vpc, req.site)
        t = self._t(req.tenant)
        p = self.placement(req.pe, req.tenant, ep)
        pes = set(self._members(req.tenant)) | {e["pe"] for e in self._endpoints(req.tenant)}
        if pes - {req.pe}:      # somebody to talk to: every PE of the tenant is in its VPN
            for pe in sorted(pes | {req.pe}):
                self._ensure_joined(req.tenant, self._endpoint_placement(req.tenant, pe), ep, own=pe == req.pe)
        pe_addr, ce_addr = self._access(ep)
        pe_if = naming.pe_attachment(req.site, req.vlan)
        actions = [Adopt(p.node, req.handoff, pe_if, addr=pe_addr, master=p.master)]
        meta = {"tenant": req.tenant, "type": "l3vpn", "pe": req.pe, "subnet": req.subnet, "vpc": req.vpc,
                "site": req.site, "pe_if": pe_if, "vrf_node": p.node, "ce_addr": ce_addr}
        self.ledger.build(ep, [], actions, meta=meta, mpls_nodes=self._mpls_nodes(req.pe))
        vpn = self.core.describe(req.tenant, t, [self._endpoint_placement(req.tenant, pe)
                                                 for pe in sorted(self._joined(req.tenant))])
        return EndpointReply(req.vpc, req.site, req.pe, pe_if, pe_addr, ce_addr, vpn)

    # --- VPLS: the VM joins the enterprise LAN segment ---------------------------------
    def provision(self, message: dict) -> dict:
        """{vpc}: a VPLS VPC's enterprise side, made with the VPC (at `up` or `vpc create`), not at its
        first attach: the enterprise site's LAN gets a port on a VPLS instance at the site's own PE, held
        by the VPC itself ("vpc:<name>"), so that an attach builds at the cloud site's PE only and a
        detach never takes the enterprise side away."""
        name = message["vpc"]
        vpc = self.world.vpcs[name]
        if vpc.type != "vpls":
            return {"provisioned": False}
        site = vpc.sites[0]
        self._vpls_instance(name, self.world.sites[site].pe, f"vpc:{name}", lan_site=site)
        return {"provisioned": True}

    def unprovision(self, message: dict) -> dict:
        """{vpc}: the VPC is deleted (it has no VM left): its enterprise side goes."""
        holder = f"vpc:{message['vpc']}"
        held = [u for u, e in self.ledger.units.items() if holder in e["users"]]
        for unit in held:
            self.ledger.release(unit, holder)
        return {"unprovisioned": bool(held)}

    def _vpls_instance(self, vpc: str, pe: str, user: str, lan_site: str | None = None) -> None:
        """The VPC's VPLS instance at `pe`, used by `user`; `lan_site`: wire that enterprise site's LAN to it."""
        unit = f"vpls:{vpc}@{pe}"
        if self.ledger.has(unit):
            self.ledger.use(unit, user)
            return
        others = [x for x in self._instance_pes(vpc) if x != pe]
        actions = self.core.vpls(vpc, self.world.vpcs[vpc].index, pe, others)
        for other in others:
            actions += self.core.vpls_greet(vpc, other, pe)
        if lan_site:
            l2 = f"l2-{lan_site}"
            actions += [Veth(lan_site, f"v-{vpc}", pe, l2, role="vpls"),
                        Enslave(lan_site, f"v-{vpc}", "lan"),
                        Enslave(pe, l2, naming.vpls_bridge(vpc))]
        self.ledger.build(unit, [], actions, users=[user])

    def _instance_pes(self, vpc: str) -> list[str]:
        return [u.split("@")[1] for u in self.ledger.units if u.startswith(f"vpls:{vpc}@")]

    def _vpls(self, req: EndpointRequest) -> EndpointReply:
        ep = self._ep(req.vpc, req.site)
        self.provision({"vpc": req.vpc})     # made with the VPC already (a no-op then); a safety net only
        self._vpls_instance(req.vpc, req.pe, ep)
        instance_pes = self._instance_pes(req.vpc)
        pe_if = naming.pe_attachment(req.site, req.vlan)
        meta = {"tenant": req.tenant, "type": "vpls", "pe": req.pe, "vpc": req.vpc, "site": req.site,
                "pe_if": pe_if}
        self.ledger.build(ep, [], [Adopt(req.pe, req.handoff, pe_if, master=naming.vpls_bridge(req.vpc))], meta=meta)
        return EndpointReply(req.vpc, req.site, req.pe, pe_if,
                             vpn={"core": "vxlan", "vni": addressing.vpls_vni(self.world.vpcs[req.vpc].index),
                                  "pes": sorted(instance_pes)})
