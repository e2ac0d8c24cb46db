"""The provider edge: tunnels and labels are accepted only from the backbone (RFC 4364 section 6).

A PE must not accept labelled or tunnelled packets from a CE or from the Internet: otherwise
anyone outside the backbone can put frames into a tenant's VPN by addressing a VXLAN packet
(VNI = the tenant's) to a PE loopback, or an MPLS frame with the tenant's VPN label to the PE
(found by `cloudnet-emu attack`, cases tunnel_inject and label_spoof).

    nft table   inet cloudnet_edge in every provider router's namespace (pe*, p*); it dies with
                the namespace, so `down`/`clean` need nothing more
    accepted    tunnel protocols (VXLAN/Geneve UDP, GRE, MPLS-in-IP, IP-in-IP) arriving on `lo`
                or on a core link (an interface named after another provider router)
    MPLS input  enabled (net.mpls.conf.IF.input) only on `lo`, core links and the VRF links of a
                VRF realized as a namespace (named after the tenant): never on an interface
                toward a CE, a cloud site or the Internet (see realize/apply.py `_enable_mpls`)
    local rule  with kernel VRFs, the `local` table's rule moves from preference 0 to 1001, after
                the l3mdev rule (1000): otherwise a lookup inside a VRF matches the PE's own global
                addresses (loopback, Internet side) before the VRF's unreachable default (found by
                case vrf_fallthrough in the VM tier; the kernel's VRF documentation recommends it)
"""
from __future__ import annotations

from .. import naming, state
from ..kernel import ns
from ..world import World

TABLE = "cloudnet_edge"
TUNNEL_UDP_PORTS = (4789, 6081)          # VXLAN, Geneve
TUNNEL_PROTOCOLS = (4, 47, 137)          # IP-in-IP, GRE, MPLS-in-IP (RFC 4023)


def provider_routers(world: World) -> list[str]:
    return sorted(world.underlay.index) if world.underlay else []


def core_interfaces(world: World, router: str) -> list[str]:
    """Interfaces of ROUTER that are core links: named after the provider router at the other end."""
    out = []
    for link in world.core_links:
        if link.a == router:
            out.append(link.b)
        elif link.b == router:
            out.append(link.a)
    return sorted(out)


def ruleset(world: World, router: str) -> str:
    trusted = ", ".join(f'"{i}"' for i in ["lo"] + core_interfaces(world, router))
    ports = ", ".join(map(str, TUNNEL_UDP_PORTS))
    protos = ", ".join(map(str, TUNNEL_PROTOCOLS))
    return (f"table inet {TABLE} {{}}\nflush table inet {TABLE}\n"
            f"table inet {TABLE} {{\n"
            f"  chain pre {{\n    type filter hook prerouting priority -300; policy accept;\n"
            f"    iifname {{ {trusted} }} accept\n"
            f"    udp dport {{ {ports} }} counter drop\n"
            f"    meta l4proto {{ {protos} }} counter drop\n  }}\n}}\n")


def apply(testbed: str, world: World) -> None:
    """Install the edge table in every provider router (idempotent: the table is flushed first)."""
    for router in provider_routers(world):
        ns.run(["nft", "-f", "-"], netns=naming.netns(testbed, router), input=ruleset(world, router))
    for router in sorted({v.pe for v in world.vrfs.values() if v.master}):
        local_after_l3mdev(naming.netns(testbed, router))


LOCAL_PREF = 1001


def local_after_l3mdev(netns: str) -> None:
    """Move the `local` table's rule after the l3mdev rule, in both families (idempotent)."""
    for family in ("-4", "-6"):
        rules = ns.run(["ip", family, "rule", "show"], netns=netns).stdout
        if not any(line.startswith(f"{LOCAL_PREF}:") and "lookup local" in line for line in rules.splitlines()):
            ns.run(["ip", family, "rule", "add", "pref", str(LOCAL_PREF), "table", "local"], netns=netns)
        if any(line.startswith("0:") and "lookup local" in line for line in rules.splitlines()):
            ns.run(["ip", family, "rule", "del", "pref", "0", "table", "local"], netns=netns)


def mpls_input_allowed(testbed: str) -> set[str]:
    """Interface names on which a provider router may accept labelled frames."""
    world = state.world(state.read(testbed) or {})
    return {"lo"} | set(provider_routers(world)) | set(world.tenants)
