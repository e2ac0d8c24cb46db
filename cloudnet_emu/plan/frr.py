"""FRR configuration of one provider router, rendered from plain data (no root, no daemons).

Conventions:
  - one file per daemon (zebra, staticd, ospfd, bgpd), each starting `frr defaults datacenter`
    (short BGP timers, no default ipv4-unicast); `frr.conf` is their concatenation, for people
    and for the golden files;
  - OSPF area 0 on every core link as point-to-point, cost 10 everywhere, so the IGP picks the
    planner's fewest-hop paths; hellos every 250 ms and a 1 s dead interval (lab timers: a cut
    link is routed around within about a second even where the kernel reports no carrier loss);
    SPF without initial delay, LSAs re-originated and accepted at once (RFC 2328's 5 s
    MinLSInterval and 1 s MinLSArrival held the first routes back for about 10 s);
  - the loopback and a PE's cloud-WAN interface are passive (advertised, no adjacency);
  - iBGP over loopbacks (update-source), every PE to every reflector (or to every PE: a full
    mesh, plan/control.py's ibgp_sessions); reflectors peer with each
    other as non-clients; connect retry 1 s (FRR's default of 120 s would cost minutes); each PE
    originates its loopback in ipv4 unicast, so a session's prefix count is meaningful (OSPF's
    distance 110 keeps the IGP route in the FIB);
  - the same sessions carry `l2vpn evpn` (reflected like ipv4 unicast); a PE is a VTEP
    (`advertise-all-vni`): every VXLAN device on a bridge in its namespace is an L2 VNI whose
    MACs (type-2) and flood list (type-3) BGP carries, so no other PE is ever configured for it;
  - on an MPLS core (L3VPNs as MP-BGP VPNv4, RFC 4364): ldpd in every provider router (`mpls ldp`,
    router-id and transport address the loopback, discovery on the core interfaces) hands out the
    transport labels; the same iBGP sessions carry `ipv4 vpn` (reflected like the others); a PE has
    one `router bgp ASN vrf vrf-<tenant>` per tenant: bgpd allocates the VRF's VPN label (`label vpn
    export auto`, one label per VRF), exports its connected and kernel routes (attachments, site
    subnets, VM host routes; never the unreachable default) with RD `<loopback>:<n>` and imports
    those with the tenant's route target.  Every tenant is configured at every PE, so a VRF device
    the Network Manager creates at attach is picked up by the running bgpd: no other PE changes.
    These routers run in the software-emulated VM (the full kernel): OSPF hellos every second held
    4 s and BGP keepalives every 3 s held 9 s there, since the sub-second timers flapped under load.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DAEMONS = ("zebra", "staticd", "ospfd", "bgpd")     # start order: zebra first
LDP_DAEMONS = ("zebra", "staticd", "ospfd", "ldpd", "bgpd")     # on an MPLS core (VPNv4)
START_ORDER = LDP_DAEMONS


@dataclass(frozen=True)
class Neighbor:
    address: str          # the peer's loopback
    name: str             # the peer router (a description, for people)
    client: bool = False  # we reflect its routes (we are a reflector, it is a PE)


@dataclass(frozen=True)
class RouterControl:
    name: str
    asn: int
    router_id: str                                # the loopback address
    core_ifs: tuple = ()                          # interfaces with an OSPF adjacency
    passive_ifs: tuple = ()                       # advertised only (besides lo)
    neighbors: tuple = ()                         # Neighbor, sorted by address
    networks: tuple = ()                          # originated in BGP ipv4 unicast
    vtep: bool = False                            # a PE: advertises its VNIs in EVPN
    ldp: bool = False                             # MPLS core: ldpd on the core interfaces, ipv4 vpn in BGP
    vrfs: tuple = ()                              # VrfVpn: the tenants' VPNv4 instances (a PE on an MPLS core)


@dataclass(frozen=True)
class VrfVpn:
    """A tenant's VRF in a PE's bgpd (MPLS core): exported with `rd`, imported and exported with `rt`."""
    vrf: str                  # the kernel VRF device (vrf-<tenant>)
    rd: str                   # <loopback>:<n>
    rt: str                   # <asn>:<n>


def _head(rc: RouterControl) -> list[str]:
    return ["frr defaults datacenter", f"hostname {rc.name}", "!"]


def _activate(rc: RouterControl) -> list[str]:
    """Every session in the address family at hand, reflected where the peer is a client."""
    lines = []
    for n in rc.neighbors:
        lines.append(f"  neighbor {n.address} activate")
        if n.client:
            lines.append(f"  neighbor {n.address} route-reflector-client")
    return lines


def render(rc: RouterControl) -> dict[str, str]:
    """daemon -> its configuration text."""
    ospf = _head(rc) + ["interface lo", " ip ospf area 0", " ip ospf passive", "exit", "!"]
    # VPNv4 (ldp) runs on the full kernel only, in CI a software-emulated VM whose daemons stall for
    # seconds under load: sub-second dead intervals and a 3 s hold time flapped there (a PE lost
    # its routes in the middle of a check), so those routers get hellos every second held 4 s and
    # BGP keepalives every 3 s held 9 s
    dead = " ip ospf dead-interval 4" if rc.ldp else " ip ospf dead-interval minimal hello-multiplier 4"
    hold = "3 9" if rc.ldp else "1 3"
    for ifname in rc.core_ifs:
        ospf += [f"interface {ifname}", " ip ospf area 0", " ip ospf network point-to-point",
                 " ip ospf cost 10", dead] + ([" ip ospf hello-interval 1"] if rc.ldp else []) + ["exit", "!"]
    for ifname in rc.passive_ifs:
        ospf += [f"interface {ifname}", " ip ospf area 0", " ip ospf passive", "exit", "!"]
    ospf += ["router ospf", f" ospf router-id {rc.router_id}", " timers throttle spf 0 50 500",
             " timers throttle lsa all 0", " timers lsa min-arrival 0", "exit", "!"]
    bgp = _head(rc) + [f"router bgp {rc.asn}", f" bgp router-id {rc.router_id}", " no bgp default ipv4-unicast",
                       " coalesce-time 100"]
    for n in rc.neighbors:
        bgp += [f" neighbor {n.address} remote-as internal", f" neighbor {n.address} description {n.name}",
                f" neighbor {n.address} update-source {rc.router_id}",
                f" neighbor {n.address} timers {hold}", f" neighbor {n.address} timers connect 1"]
    bgp += [" !", " address-family ipv4 unicast"] + [f"  network {p}" for p in rc.networks] + _activate(rc)
    bgp += [" exit-address-family", " !", " address-family l2vpn evpn"] + _activate(rc)
    if rc.vtep:
        bgp.append("  advertise-all-vni")
    bgp += [" exit-address-family"]
    if rc.ldp:
        bgp += [" !", " address-family ipv4 vpn"] + _activate(rc) + [" exit-address-family"]
    bgp += ["exit", "!"]
    if rc.vrfs:
        bgp = _head(rc) + TENANT_ROUTES + bgp[len(_head(rc)):]
    for v in rc.vrfs:
        bgp += [f"router bgp {rc.asn} vrf {v.vrf}", f" bgp router-id {rc.router_id}", " no bgp default ipv4-unicast",
                " !", " address-family ipv4 unicast", "  redistribute connected route-map tenant-routes",
                "  redistribute kernel route-map tenant-routes", "  label vpn export auto", f"  rd vpn export {v.rd}",
                f"  rt vpn both {v.rt}", "  export vpn", "  import vpn", " exit-address-family", "exit", "!"]
    out = {"zebra": "\n".join(_head(rc)) + "\n", "staticd": "\n".join(_head(rc)) + "\n",
           "ospfd": "\n".join(ospf) + "\n", "bgpd": "\n".join(bgp) + "\n"}
    if rc.ldp:
        out["ldpd"] = "\n".join(_ldp(rc)) + "\n"
        out = {d: out[d] for d in LDP_DAEMONS}
    return out


# A VRF's routes worth exporting: everything but the unreachable default that keeps lookups in the VRF.
TENANT_ROUTES = ["ip prefix-list tenant-routes seq 5 deny 0.0.0.0/0",
                 "ip prefix-list tenant-routes seq 10 permit 0.0.0.0/0 le 32", "!",
                 "route-map tenant-routes permit 10", " match ip address prefix-list tenant-routes", "exit", "!"]


def _ldp(rc: RouterControl) -> list[str]:
    """LDP on the core links: hellos every second (held 3 s), sessions between loopbacks; a router
    advertises implicit null for its own loopback (penultimate-hop popping, FRR's default)."""
    lines = _head(rc) + ["mpls ldp", f" router-id {rc.router_id}", " discovery hello holdtime 3",
                         " discovery hello interval 1", " !", " address-family ipv4",
                         f"  discovery transport-address {rc.router_id}"]
    for ifname in rc.core_ifs:
        lines += [f"  interface {ifname}", "  exit"]
    return lines + [" exit-address-family", "exit", "!"]


def frr_conf(configs: dict[str, str]) -> str:
    """All daemons' files in one, each under a comment naming its daemon."""
    return "".join(f"! ---- {d}.conf\n{configs[d]}" for d in START_ORDER if d in configs)


VRF_DAEMONS = ("zebra", "bgpd")     # a tenant VRF's own instance: no IGP, it peers over the transit subnet


@dataclass(frozen=True)
class CePeer:
    """An enterprise site whose CE speaks eBGP to its PE's VRF (`routing: bgp`)."""
    site: str                 # the CE's node
    address: str              # the CE's end of the access link, bare
    asn: int                  # the CE's private AS (CE_ASN_BASE + the site's index in the topology)
    subnet: str               # the site's LAN, which the CE originates
    pe_address: str           # the VRF's end of the access link, bare
    vrf: str                  # the VRF's node (<pe>.<tenant>), its description at the CE


CE_ASN_BASE = 65001


def ce_asn(topo, site: str) -> int:
    """The private AS of enterprise site SITE's CE: CE_ASN_BASE plus the site's index in the topology."""
    return CE_ASN_BASE + [s.name for t in topo.tenants for s in t.sites].index(site)


@dataclass(frozen=True)
class VrfControl:
    """A tenant VRF's BGP instance (control=bgp, VRFs as namespaces): iBGP with the same tenant's
    VRFs on other PEs, over the tenant's transit subnet (an EVPN L2 VNI between the PEs)."""
    name: str                 # the VRF node (pe1.acme)
    asn: int
    router_id: str            # its transit address
    transit: str              # the tenant's transit subnet: later members are accepted from it
    neighbors: tuple = ()     # the members known when it is configured (their transit addresses)
    ces: tuple = ()           # CePeer: the CEs at this PE that speak eBGP to the VRF


def render_vrf(vc: VrfControl) -> dict[str, str]:
    """daemon -> configuration text.  Every member peers with every other (iBGP does not pass on
    what it learned from an iBGP peer): explicitly with those that exist, and from `listen range`
    with those that come later, so a new member never changes an old one's configuration.  The
    VRF's own routes (connected: attachments; kernel: site subnets behind the CE, VM host routes)
    go out with itself as next hop (their gateways are unreachable elsewhere); the unreachable
    default that keeps lookups inside the VRF stays home.  No coalescing of the first UPDATEs
    (`coalesce-time 0`): a VRF has a handful of peers, and a VRF started at attach announces
    the VM's /32 only after its update group's coalesce time (100 ms of the attach here)."""
    head = ["frr defaults datacenter", f"hostname {vc.name}", "!"]
    bgp = head + TENANT_ROUTES + [f"router bgp {vc.asn}", f" bgp router-id {vc.router_id}", " no bgp default ipv4-unicast",
                  " coalesce-time 0", " neighbor tenant peer-group", " neighbor tenant remote-as internal",
                  " neighbor tenant timers 1 3", " neighbor tenant timers connect 1",
                  f" bgp listen range {vc.transit} peer-group tenant"]
    bgp += [f" neighbor {n} peer-group tenant" for n in sorted(vc.neighbors, key=ipaddress.ip_address)]
    for ce in vc.ces:
        bgp += [f" neighbor {ce.address} remote-as {ce.asn}", f" neighbor {ce.address} description {ce.site}",
                f" neighbor {ce.address} timers 1 3", f" neighbor {ce.address} timers connect 1"]
    bgp += [" !", " address-family ipv4 unicast", "  redistribute connected route-map tenant-routes",
            "  redistribute kernel route-map tenant-routes", "  neighbor tenant activate",
            "  neighbor tenant next-hop-self"] + [f"  neighbor {ce.address} activate" for ce in vc.ces]
    bgp += [" exit-address-family", "exit", "!"]
    return {"zebra": "\n".join(head) + "\n", "bgpd": "\n".join(bgp) + "\n"}


def render_ce(ce: CePeer, provider_asn: int) -> dict[str, str]:
    """daemon -> configuration text of a CE that routes by eBGP (`routing: bgp`), as an MPLS VPN
    customer runs it: one session to its PE's VRF over the access link, its LAN originated, and
    everything the VPN knows learned from the PE (no static default).  Each site has its own
    private AS, so a site's prefixes pass the other sites' AS-path loop check without as-override."""
    head = ["frr defaults datacenter", f"hostname {ce.site}", "!"]
    bgp = head + [f"router bgp {ce.asn}", f" bgp router-id {ce.address}", " no bgp default ipv4-unicast",
                  " coalesce-time 0", f" neighbor {ce.pe_address} remote-as {provider_asn}",
                  f" neighbor {ce.pe_address} description {ce.vrf}",
                  f" neighbor {ce.pe_address} timers 1 3", f" neighbor {ce.pe_address} timers connect 1", " !",
                  " address-family ipv4 unicast", f"  network {ce.subnet}", f"  neighbor {ce.pe_address} activate",
                  " exit-address-family", "exit", "!"]
    return {"zebra": "\n".join(head) + "\n", "bgpd": "\n".join(bgp) + "\n"}
