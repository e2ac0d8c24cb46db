"""Provider addresses, VNIs and MPLS labels: deterministic, derived from list order.

    loopback of router #i           pools.loopbacks, host i+1          /32
    core link #k                    pools.core,   k-th /30: a=.1, b=.2
    access link #j (PE-CE, PE-DC)   pools.access, j-th /30: PE=.1, CE=.2
    tenant #t VPN transit (VXLAN)   pools.transit, t-th /24: PE #i = .(i+1)
    VNI of tenant #t                10000 + t
    VNI of VPLS VPC #v              20000 + v
    transport label of router r for the LSP toward PE p     1000 + 100*r + p
    VPN label of tenant #t at egress PE p                   20000 + 100*t + p

The same topology always gets the same numbers, so a plan can be read, diffed and
tested without a kernel.
"""
from __future__ import annotations

import hashlib
import ipaddress
from itertools import islice

from ..errors import StateError


def nth_subnet(pool: str, prefixlen: int, n: int) -> ipaddress.IPv4Network:
    """The n-th (0-based) /prefixlen of pool, by arithmetic: walking the subnets costs a
    millisecond per thousand, and cloud attachment circuits start at the 8192nd /30."""
    net = ipaddress.ip_network(pool)
    size = 1 << (net.max_prefixlen - prefixlen)
    if prefixlen < net.prefixlen or not 0 <= n < net.num_addresses // size:
        raise StateError(f"address pool {pool} has no subnet #{n} of length /{prefixlen}: it is used up")
    return ipaddress.ip_network((int(net.network_address) + n * size, prefixlen))


def nth_host(net, n: int) -> ipaddress.IPv4Address:
    """n-th usable address (0-based) of net."""
    net = ipaddress.ip_network(net)
    return net.network_address + 1 + n


def loopback(pool: str, router_index: int) -> str:
    return f"{nth_host(pool, router_index)}/32"


def p2p(pool: str, k: int) -> tuple[str, str]:
    """(a, b) interface addresses of the k-th /30 of pool."""
    net = nth_subnet(pool, 30, k)
    return f"{net.network_address + 1}/30", f"{net.network_address + 2}/30"


def transit(pool: str, tenant_index: int, router_index: int) -> str:
    net = nth_subnet(pool, 24, tenant_index)
    return f"{nth_host(net, router_index)}/24"


def vni(tenant_index: int) -> int:
    return 10000 + tenant_index


def vpls_vni(vpc_index: int) -> int:
    return 20000 + vpc_index


def transport_label(router_index: int, pe_index: int) -> int:
    return 1000 + 100 * router_index + pe_index


def vpn_label(tenant_index: int, pe_index: int) -> int:
    return 20000 + 100 * tenant_index + pe_index


def vrf_table(tenant_index: int) -> int:
    return 100 + tenant_index


def bare(addr: str) -> str:
    return addr.split("/")[0]


def host_addresses(subnet: str, pinned: list) -> list[str]:
    """Addresses for a site's hosts: pinned ones kept, others from .2 upward (.1 is the CE)."""
    net = ipaddress.ip_network(subnet)
    taken = {ipaddress.IPv4Address(p) for p in pinned if p}
    free = (a for a in islice(net.hosts(), 1, None) if a not in taken)
    return [p if p else str(next(free)) for p in pinned]


def stable_mac(key: str) -> str:
    """A locally administered unicast MAC derived from KEY: the same object rebuilt gets the same
    MAC, so neighbour entries elsewhere that name it stay true."""
    digest = hashlib.sha1(key.encode()).digest()
    return "02:" + ":".join(f"{b:02x}" for b in digest[:5])
