"""Topology -> Plan.  Reads top to bottom as the order the testbed is built in.

    provider   PE/P namespaces, loopbacks, core links (MTU 9000)
    control    how routers reach each other's loopbacks: static shortest paths, or FRR (last)
    internet   one node on a PE's global table: no route into any VRF
    tenants    per site: CE with a LAN bridge and hosts, access link into the PE's VRF
    vpns       per tenant: the core realization joins its VRFs (MPLS or VXLAN)
    clouds     per cloud site: OVS site switch, one OVS bridge per server (patch trunks),
               uplink trunk to the PE
    shaping    bandwidth, delay, loss on every link that declares them

    acme-h1 --eth0   acme-h1 [lan] acme-hq --pe1   acme-hq [vrf-acme] pe1 --p1 ... p1
"""
from __future__ import annotations

from collections import deque
from typing import Optional

from .. import naming
from .. import world as W
from ..spec.model import LinkProps, Topology
from . import addressing as A
from . import frr
from .actions import Bridge, Enslave, FrrRouter, Node, OvsBridge, OvsPort, Plan, Route, Shape, Veth
from . import choose
from .choose import Choice
from .control import CONTROLS, Control
from .core import CORES, Hop, Member, Underlay
from .routers import ROUTERS

CORE_MTU = 9000


def build_plan(topo: Topology, choice: Choice) -> Plan:
    plan = Plan(topo.name, realizations=dict(choice.realizations), degradations=list(choice.degradations))
    plan.world.reasons = dict(choice.reasons)
    underlay = _provider(plan, topo, choice)
    bgp, mpls = choice.realizations["control"] == "bgp", choice.realizations["core"] == "mpls"
    control = CONTROLS[choice.realizations["control"]](topo, underlay, vpnv4=bgp and mpls)
    plan.add(*control.core_routes())
    _internet(plan, topo, choice)
    routers = ROUTERS[choice.realizations["router"]](plan)
    core = CORES[choice.realizations["core"]](underlay, evpn=bgp, asn=topo.provider.asn)
    plan.add(*core.setup())
    if mpls and not bgp:        # under bgp the transport labels are LDP's
        plan.world.lsp = core.lsps()
    access = iter(range(1 << 30))
    for t_index, tenant in enumerate(topo.tenants):
        members: dict[str, Member] = {}
        for site in tenant.sites:
            placement = routers.vrf(site.pe, tenant.name, t_index)
            ce = _site(plan, site, placement, next(access), topo, choice)
            member = members.setdefault(site.pe, Member(placement, []))
            member.prefixes.append(site.subnet)
            if ce:
                member.ces.append(ce)
        # a CE that speaks eBGP needs its VRF's own BGP from the start, even as the tenant's only member
        if len(members) > 1 or any(m.ces for m in members.values()):
            core.l3vpn(plan, tenant.name, t_index, list(members.values()))
            control.tenant_vrfs({a.node for a in plan.of(FrrRouter)}, list(members.values()),
                                plan.world.vpn[tenant.name].transit or {})
    for cloud in topo.cloud_sites:
        _cloud(plan, cloud, choice, topo, control, next(access))
    plan.add(*control.daemons())
    plan.world.control = W.Control.from_dict(control.describe())
    plan.world.tenants = [t.name for t in topo.tenants]
    for vpc in topo.vpcs:
        plan.world.add_vpc(vpc)
    return plan


def _shape(plan: Plan, veth: Veth, props: LinkProps, choice: Choice):
    """Egress shaping on both ends: each direction gets bw, the one-way delay and loss."""
    if props.empty:
        return
    delay = props.delay_ms if choice.shaping_delay else 0.0
    loss = (props.loss or 0.0) if choice.shaping_delay else 0.0
    if props.bw is None and not delay and not loss:
        return
    plan.add(Shape(veth.a_node, veth.a_if, props.bw, delay, loss),
             Shape(veth.b_node, veth.b_if, props.bw, delay, loss))


def _realized(props: LinkProps, choice: Choice) -> dict:
    """What a link really has (reservations admit on bw; latency checks expect delay_ms)."""
    return {"bw": props.bw, "delay_ms": props.delay_ms if choice.shaping_delay else 0.0,
            "declared_delay_ms": props.delay_ms, "loss": (props.loss or 0.0) if choice.shaping_delay else 0.0}


def _provider(plan: Plan, topo: Topology, choice: Choice) -> Underlay:
    pools = topo.provider.pools
    mpls = choice.realizations["core"] == "mpls"
    index = {r.name: i for i, r in enumerate(topo.provider.routers)}
    pe_index = {r.name: i for i, r in enumerate(r for r in topo.provider.routers if r.role == "pe")}
    loop = {r: A.loopback(pools.loopbacks, i) for r, i in index.items()}
    for r in topo.provider.routers:
        plan.nodes.append(Node(r.name, r.role, forwarding=True, mpls=mpls, loopback=loop[r.name]))
    adj: dict[str, list[tuple[str, str, str]]] = {r: [] for r in index}   # r -> (peer, peer addr, our dev)
    for k, link in enumerate(topo.provider.links):
        a, b = link.endpoints
        a_addr, b_addr = A.p2p(pools.core, k)
        veth = Veth(a, b, b, a, a_addr, b_addr, mtu=CORE_MTU, role="core")
        plan.add(veth)
        _shape(plan, veth, link, choice)
        plan.world.core_links.append(W.CoreLink(a, b, a_addr, b_addr, **_realized(link, choice)))
        adj[a].append((b, A.bare(b_addr), b))
        adj[b].append((a, A.bare(a_addr), a))
    next_hop = _shortest_paths(adj)
    plan.world.loopbacks = loop
    underlay = Underlay(index, pe_index, loop, next_hop, pools.model_dump())
    plan.world.underlay = W.Underlay.from_dict(underlay.to_dict())
    return underlay


def _shortest_paths(adj) -> dict[tuple[str, str], Hop]:
    """Fewest hops, ties broken by declaration order: (src, dst) -> first hop."""
    hops = {}
    for src in adj:
        first = {src: None}
        todo = deque([src])
        while todo:
            cur = todo.popleft()
            for peer, via, dev in adj[cur]:
                if peer not in first:
                    first[peer] = Hop(peer, via, dev) if cur == src else first[cur]
                    todo.append(peer)
        for dst, hop in first.items():
            if hop is not None:
                hops[(src, dst)] = hop
    return hops


def _internet(plan: Plan, topo: Topology, choice: Choice):
    inet = topo.internet
    if inet is None:
        return
    pe_addr, inet_addr = (f"{A.nth_host(inet.prefix, i)}/{inet.prefix.split('/')[1]}" for i in (0, 1))
    plan.nodes.append(Node(inet.name, "internet"))
    veth = Veth(inet.pe, inet.name, inet.name, inet.pe, pe_addr, inet_addr, role="internet")
    plan.add(veth, Route(inet.name, "0.0.0.0/0", via=A.bare(pe_addr)))
    _shape(plan, veth, inet.link, choice)
    plan.world.internet = W.Internet(inet.name, inet_addr, inet.pe)


def _site(plan: Plan, site, placement, k: int, topo: Topology, choice: Choice) -> Optional[frr.CePeer]:
    """CE with its LAN bridge and hosts, and the access link into the PE's VRF.  Under `routing: bgp`
    the CE runs FRR and exchanges routes with the VRF by eBGP (returned: the VRF's side of it is
    the VPN core's, plan/core.py) where static routes would be written both ways."""
    prefixlen = site.subnet.split("/")[1]
    gateway = f"{A.nth_host(site.subnet, 0)}/{prefixlen}"
    plan.nodes.append(Node(site.name, "ce", forwarding=True, site=site.name, tenant=placement.tenant))
    plan.add(Bridge(site.name, "lan", gateway))
    addrs = A.host_addresses(site.subnet, [h.ip for h in site.hosts])
    hosts = {}
    for host, ip in zip(site.hosts, addrs):
        plan.nodes.append(Node(host.name, "host", site=site.name, tenant=placement.tenant))
        plan.add(Veth(host.name, "eth0", site.name, host.name, a_addr=f"{ip}/{prefixlen}", role="lan"),
                 Enslave(site.name, host.name, "lan"),
                 Route(host.name, "0.0.0.0/0", via=A.bare(gateway)))
        hosts[host.name] = ip
    pe_addr, ce_addr = A.p2p(topo.provider.pools.access, k)
    veth = Veth(site.name, site.pe, placement.node, site.name, ce_addr, pe_addr, role="access")
    plan.add(veth)
    if placement.master:
        plan.add(Enslave(placement.node, site.name, placement.master))
    ce = None
    if site.routing == "bgp":
        ce = frr.CePeer(site.name, A.bare(ce_addr), frr.ce_asn(topo, site.name), site.subnet, A.bare(pe_addr),
                        placement.node)
        plan.add(FrrRouter(site.name, tuple(frr.render_ce(ce, topo.provider.asn).items())))
    else:
        plan.add(Route(site.name, "0.0.0.0/0", via=A.bare(pe_addr)),
                 Route(placement.node, site.subnet, via=A.bare(ce_addr), dev=site.name, table=placement.table))
    _shape(plan, veth, site.link, choice)
    plan.world.sites[site.name] = W.Site(placement.tenant, site.pe, placement.node, site.subnet, A.bare(gateway),
                                         hosts, {"pe": pe_addr, "ce": ce_addr}, routing=site.routing,
                                         asn=ce.asn if ce else None, **_realized(site.link, choice))
    return ce


def _cloud(plan: Plan, cloud, choice: Choice, topo: Topology, control: Control, k: int):
    """Figure 2's cloud site: servers' bridges trunked to the site switch, and a CE router.

        cnb-dc1-s1 ─cns-dc1-s1══cnt-dc1-s1─ cnb-dc1 (site switch)        dc1 (CE router) ─pe3══dc1─ pe3

    The CE router's own link to the PE's global table is the site's WAN access for the
    cloud operator (live-migration pre-copy traffic crosses the provider on it).

    Trunks are veth pairs (not OVS patch ports) so that 802.1Q tags can be captured on them.
    VPCs arrive with VMs (managers/): a VLAN on the switches, a logical CE on the CE router
    (a VRF) or beside it (a namespace), each VLAN handed off on an OVS access port.
    """
    datapath = choice.realizations["datapath"]
    site_br = naming.bridge(cloud.name)
    plan.nodes.append(Node(cloud.name, "cloud-ce", forwarding=True, site=cloud.name))
    ovs_type, csum_off = choose.OVS_DATAPATH_TYPE[datapath], choose.csum_off(datapath)
    plan.add(OvsBridge(site_br, ovs_type, "site", cloud.name))
    for server in cloud.servers:
        br = naming.bridge(server.name)
        up, down = naming.trunk_site_side(server.name), naming.trunk_server_side(server.name)
        plan.add(OvsBridge(br, ovs_type, "server", server.name),
                 Veth(None, up, None, down, role="trunk", tx_csum_off=csum_off),
                 OvsPort(site_br, up), OvsPort(br, down))
    pe_addr, ce_addr = A.p2p(topo.provider.pools.access, k)
    wan = Veth(cloud.name, cloud.pe, cloud.pe, cloud.name, ce_addr, pe_addr, role="infra")
    plan.add(wan, Route(cloud.name, "0.0.0.0/0", via=A.bare(pe_addr)))
    _shape(plan, wan, cloud.link, choice)
    plan.add(*control.reach(cloud.pe, ce_addr, cloud.name))
    plan.world.clouds[cloud.name] = W.Cloud(
        cloud.pe, site_br, datapath, cloud.name, ce_addr,
        {s.name: W.Server(naming.bridge(s.name), s.vcpus, s.mem_mb) for s in cloud.servers}, cloud.link.model_dump())
