"""Relations between objects of a topology: names, references, addresses.

Each check yields Problems with the data path of the offending value; `load.py`
turns paths into file positions.  The model has already checked each value alone.
"""
from __future__ import annotations

import difflib
import ipaddress
import re
from collections import Counter
from typing import Iterator

from ..errors import Problem
from .model import Topology
from ..acl.checks import topology_problems
from .qos_checks import check as qos_problems

CLOUD_NAME_MAX = 10


def _near(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def _ref_hint(word, choices, kind: str) -> str:
    near = _near(word, choices)
    known = ", ".join(sorted(choices)) or "none"
    return (near + " " if near else "") + f"known {kind}: {known}"


# Names a node may not take.  Inside our namespaces an interface is named after the
# node at its other end (naming.py), so a node name must not be a name the kernel
# refuses or one we give to another interface there.
RESERVED_NODE_NAMES = {
    "lo": "every namespace has its loopback 'lo'",
    "all": "the kernel refuses it as an interface name (net.ipv4.conf.all)",
    "default": "the kernel refuses it as an interface name (net.ipv4.conf.default)",
    "lan": "the LAN bridge in every site's CE router is named 'lan'",
    "root": "scenarios use 'root' for the root namespace",
}
RESERVED_NODE_RE = re.compile(r"^(?:(vrf|vx|vxl|br|v)-|u\d+$)")
RESERVED_PREFIX_USE = {"vrf": "VRF devices vrf-<tenant>", "vx": "L3VPN VXLAN devices vx-<tenant>",
                       "vxl": "VPLS VXLAN devices vxl-<vpc>", "br": "VPLS bridges br-<vpc>",
                       "v": "VPLS join ports v-<vpc>", None: "logical CE ports u<vlan>"}
RESERVED_TESTBED_NAMES = {"probe": "the kernel probe's scratch namespaces are cn-probe-<pid>"}


def check_topology(t: Topology) -> Iterator[Problem]:
    yield from _reserved(t)
    yield from _unique_names(t)
    yield from _references(t)
    yield from _core_links(t)
    yield from _addresses(t)
    yield from _vpcs(t)
    yield from topology_problems(t)
    yield from qos_problems(t)


def node_names(t: Topology) -> Iterator[tuple[str, tuple]]:
    """Every node name with its data path: they share one namespace per testbed."""
    for i, r in enumerate(t.provider.routers):
        yield r.name, ("provider", "routers", i, "name")
    if t.internet:
        yield t.internet.name, ("internet", "name")
    for ti, tenant in enumerate(t.tenants):
        for si, site in enumerate(tenant.sites):
            yield site.name, ("tenants", ti, "sites", si, "name")
            for hi, host in enumerate(site.hosts):
                yield host.name, ("tenants", ti, "sites", si, "hosts", hi, "name")
    for ci, cloud in enumerate(t.cloud_sites):
        yield cloud.name, ("cloud_sites", ci, "name")
        for vi, server in enumerate(cloud.servers):
            yield server.name, ("cloud_sites", ci, "servers", vi, "name")
    for pi, vpc in enumerate(t.vpcs):
        for vi, vm in enumerate(vpc.vms):
            yield vm.name, ("vpcs", pi, "vms", vi, "name")


def _reserved(t: Topology) -> Iterator[Problem]:
    if t.name in RESERVED_TESTBED_NAMES:
        yield Problem(f"testbed name {t.name!r} is reserved", path=("name",), at_value=True,
                      hint=RESERVED_TESTBED_NAMES[t.name] + "; pick another name")
    for name, path in node_names(t):
        if name in RESERVED_NODE_NAMES:
            yield Problem(f"{name!r} is a reserved name", path=path, at_value=True,
                          hint=RESERVED_NODE_NAMES[name] + "; pick another name")
        elif m := RESERVED_NODE_RE.match(name):
            yield Problem(f"{name!r} looks like one of our own interface names", path=path, at_value=True,
                          hint=f"inside the routers' namespaces interfaces are named after nodes, next to "
                               f"{RESERVED_PREFIX_USE[m.group(1)]}; pick a name that does not start like that")


def _dupes(items, kind: str) -> Iterator[Problem]:
    seen: dict[str, tuple] = {}
    for name, path in items:
        if name in seen:
            first = ".".join(map(str, seen[name]))
            yield Problem(f"duplicate name {name!r} (already used at {first})", path=path,
                          hint=f"{kind} must have names unique within a topology; rename one")
        else:
            seen[name] = path


def _unique_names(t: Topology) -> Iterator[Problem]:
    yield from _dupes(node_names(t), "nodes (routers, sites, hosts, cloud sites, servers, the Internet node)")
    yield from _dupes(((x.name, ("tenants", i, "name")) for i, x in enumerate(t.tenants)), "tenants")
    yield from _dupes(((x.name, ("vpcs", i, "name")) for i, x in enumerate(t.vpcs)), "VPCs")


def _references(t: Topology) -> Iterator[Problem]:
    pes = {r.name for r in t.provider.routers if r.role == "pe"}
    routers = {r.name for r in t.provider.routers}

    def pe_ref(name, path):
        if name in pes:
            return
        if name in routers:
            yield Problem(f"{name!r} is a P router; only PE routers take attachments", path=path,
                          hint=f"use one of the PEs: {', '.join(sorted(pes)) or 'none'}")
        else:
            yield Problem(f"unknown PE router {name!r}", path=path, hint=_ref_hint(name, pes, "PEs"))

    if t.internet:
        yield from pe_ref(t.internet.pe, ("internet", "pe"))
    for ti, tenant in enumerate(t.tenants):
        for si, site in enumerate(tenant.sites):
            yield from pe_ref(site.pe, ("tenants", ti, "sites", si, "pe"))
    for ci, cloud in enumerate(t.cloud_sites):
        yield from pe_ref(cloud.pe, ("cloud_sites", ci, "pe"))
    if not pes:
        yield Problem("the provider has no PE router", path=("provider", "routers"),
                      hint="give at least one router role: pe")
    seen = set()
    for i, name in enumerate(t.provider.reflectors or ()):
        path = ("provider", "reflectors", i)
        if name not in routers:
            yield Problem(f"unknown route reflector {name!r}: not a provider router", path=path,
                          hint=_ref_hint(name, routers, "routers"))
        elif name in seen:
            yield Problem(f"route reflector {name!r} is listed twice", path=path, hint="name each router once")
        seen.add(name)


def _core_links(t: Topology) -> Iterator[Problem]:
    routers = {r.name for r in t.provider.routers}
    pairs: dict[frozenset, int] = {}
    for li, link in enumerate(t.provider.links):
        path = ("provider", "links", li, "endpoints")
        if len(link.endpoints) != 2:
            yield Problem(f"a link has exactly two endpoints, this one has {len(link.endpoints)}", path=path,
                          hint="write endpoints: [ROUTER_A, ROUTER_B]")
            continue
        a, b = link.endpoints
        if a == b:
            yield Problem(f"link joins {a!r} to itself", path=path, hint="name two different routers")
            continue
        for k, end in enumerate(link.endpoints):
            if end not in routers:
                yield Problem(f"unknown router {end!r} in link", path=path + (k,),
                              hint=_ref_hint(end, routers, "routers"))
        key = frozenset((a, b))
        if key in pairs:
            yield Problem(f"link {a} -- {b} is declared twice (first as provider.links.{pairs[key]})", path=path,
                          hint="remove the repeated link; set bw/delay on the first one")
        else:
            pairs[key] = li
    # Every PE must reach every other PE through the core.
    pes = [r.name for r in t.provider.routers if r.role == "pe"]
    if len(pes) > 1:
        adj: dict[str, set] = {r: set() for r in routers}
        for link in t.provider.links:
            if len(link.endpoints) == 2 and set(link.endpoints) <= routers:
                a, b = link.endpoints
                adj[a].add(b)
                adj[b].add(a)
        seen, todo = {pes[0]}, [pes[0]]
        while todo:
            for n in adj[todo.pop()] - seen:
                seen.add(n)
                todo.append(n)
        for i, r in enumerate(t.provider.routers):
            if r.role == "pe" and r.name not in seen:
                yield Problem(f"PE {r.name!r} is not connected to {pes[0]!r} by core links",
                              path=("provider", "routers", i, "name"),
                              hint="add a provider link that joins it to the core")


def _addresses(t: Topology) -> Iterator[Problem]:
    pools = {k: ipaddress.ip_network(v) for k, v in t.provider.pools.model_dump().items()}
    plist = list(pools.items())
    for i, (ka, a) in enumerate(plist):
        for kb, b in plist[i + 1:]:
            if a.overlaps(b):
                yield Problem(f"provider pools {ka} ({a}) and {kb} ({b}) overlap", path=("provider", "pools", kb),
                              hint="give each pool its own range")
    if t.internet:
        net = ipaddress.ip_network(t.internet.prefix)
        if net.prefixlen > 30:
            yield Problem(f"internet prefix {net} is too small", path=("internet", "prefix"),
                          hint="use a /30 or larger")
        for k, p in pools.items():
            if net.overlaps(p):
                yield Problem(f"internet prefix {net} overlaps the provider's {k} pool {p}",
                              path=("internet", "prefix"), hint="pick a prefix outside the provider pools")
    for ti, tenant in enumerate(t.tenants):
        plan: list[tuple[ipaddress.IPv4Network, tuple, str]] = []
        for si, site in enumerate(tenant.sites):
            spath = ("tenants", ti, "sites", si)
            net = ipaddress.ip_network(site.subnet)
            plan.append((net, spath + ("subnet",), f"site {site.name}"))
            if net.prefixlen > 29:
                yield Problem(f"subnet {net} of site {site.name!r} is too small for a gateway and hosts",
                              path=spath + ("subnet",), hint="use a /29 or larger")
            usable = list(net.hosts())
            gateway = usable[0] if usable else None
            seen_ips: dict[str, int] = {}
            for hi, host in enumerate(site.hosts):
                if host.ip is None:
                    continue
                hpath = spath + ("hosts", hi, "ip")
                ip = ipaddress.IPv4Address(host.ip)
                if ip not in net:
                    yield Problem(f"address {ip} of host {host.name!r} is outside its site's subnet {net}",
                                  path=hpath, hint=f"pick an address in {net}, or leave ip out to get one")
                elif ip in (net.network_address, net.broadcast_address):
                    yield Problem(f"address {ip} is the {'network' if ip == net.network_address else 'broadcast'}"
                                  f" address of {net}", path=hpath, hint="pick a host address")
                elif ip == gateway:
                    yield Problem(f"address {ip} is the site gateway (the CE's LAN address)", path=hpath,
                                  hint=f"the first address of {net} belongs to the CE; pick another")
                if host.ip in seen_ips:
                    yield Problem(f"address {ip} is used twice in site {site.name!r}", path=hpath,
                                  hint=f"host {site.hosts[seen_ips[host.ip]].name!r} has it already")
                seen_ips.setdefault(host.ip, hi)
            if len(site.hosts) > max(0, len(usable) - 1):
                yield Problem(f"site {site.name!r} has {len(site.hosts)} hosts but {net} has room for "
                              f"{max(0, len(usable) - 1)}", path=spath + ("hosts",), hint="use a larger subnet")
        for vi, vpc in enumerate(t.vpcs):
            if vpc.tenant == tenant.name and vpc.type == "l3vpn" and vpc.subnet:
                plan.append((ipaddress.ip_network(vpc.subnet), ("vpcs", vi, "subnet"), f"VPC {vpc.name}"))
        for i, (a, apath, aname) in enumerate(plan):
            for k, p in pools.items():
                if a.overlaps(p):
                    yield Problem(f"{aname}: {a} overlaps the provider's {k} pool {p}", path=apath,
                                  hint="tenants may use any private range except the provider pools")
            for b, bpath, bname in plan[i + 1:]:
                if a.overlaps(b):
                    yield Problem(f"{bname}: {b} overlaps {aname} ({a}) in tenant {tenant.name!r}", path=bpath,
                                  hint="subnets inside one tenant must not overlap (other tenants may reuse them)")


def _cloud_names(t: Topology) -> Iterator[Problem]:
    for ci, cloud in enumerate(t.cloud_sites):
        if len(cloud.name) > CLOUD_NAME_MAX:
            yield Problem(f"cloud site name {cloud.name!r} is too long ({len(cloud.name)} characters, at most "
                          f"{CLOUD_NAME_MAX})", path=("cloud_sites", ci, "name"), at_value=True,
                          hint="PE-side attachment interfaces are named <site>.<vlan> (15 characters at most)")


def _vms(t: Topology, vi: int, vpc) -> Iterator[Problem]:
    clouds = {c.name: c for c in t.cloud_sites}
    ips: dict[str, int] = {}
    for k, vm in enumerate(vpc.vms):
        path = ("vpcs", vi, "vms", k)
        cloud = clouds.get(vm.site)
        if cloud is None:
            yield Problem(f"unknown cloud site {vm.site!r}", path=path + ("site",),
                          hint=_ref_hint(vm.site, clouds, "cloud sites"))
            continue
        servers = {s.name: s for s in cloud.servers}
        if vm.server is not None and vm.server not in servers:
            yield Problem(f"{vm.server!r} is not a server of cloud site {vm.site!r}", path=path + ("server",),
                          hint=_ref_hint(vm.server, servers, f"servers of {vm.site}"))
        if vm.ip and vpc.subnet and ipaddress.IPv4Address(vm.ip) not in ipaddress.ip_network(vpc.subnet):
            yield Problem(f"address {vm.ip} of VM {vm.name!r} is outside the VPC's subnet {vpc.subnet}",
                          path=path + ("ip",), hint="pick an address in the VPC's subnet, or leave ip out")
        elif vm.ip and vm.ip in ips:
            yield Problem(f"address {vm.ip} is pinned twice in VPC {vpc.name!r}", path=path + ("ip",),
                          at_value=True, hint=f"VM {vpc.vms[ips[vm.ip]].name!r} has it already; leave ip out to get one")
        if vm.ip:
            ips.setdefault(vm.ip, k)
        fit = [s for s in cloud.servers if vm.server in (None, s.name)]
        if fit and not any(s.vcpus >= vm.vcpus and s.mem_mb >= vm.mem_mb for s in fit):
            sizes = ", ".join(f"{s.name} {s.vcpus} vCPU/{s.mem_mb} MB" for s in fit)
            field = "mem_mb" if any(s.vcpus >= vm.vcpus for s in fit) else "vcpus"
            yield Problem(f"VM {vm.name!r} ({vm.vcpus} vCPU, {vm.mem_mb} MB) does not fit "
                          f"{'server ' + vm.server if vm.server else 'any server of ' + vm.site} (declared: {sizes})",
                          path=path + (field,), hint="make the VM smaller or place it where servers are larger")


def _macs(t: Topology) -> Iterator[Problem]:
    seen: dict[str, tuple] = {}
    for vi, vpc in enumerate(t.vpcs):
        for k, vm in enumerate(vpc.vms):
            if vm.mac is None:
                continue
            path = ("vpcs", vi, "vms", k, "mac")
            if vm.mac in seen:
                yield Problem(f"MAC {vm.mac} is pinned twice (already at {'.'.join(map(str, seen[vm.mac]))})",
                              path=path, at_value=True, hint="every VM needs its own MAC; leave mac out to get one")
            seen.setdefault(vm.mac, path)


def _vpcs(t: Topology) -> Iterator[Problem]:
    yield from _cloud_names(t)
    yield from _macs(t)
    tenants = {x.name: x for x in t.tenants}
    vlans: dict[int, int] = {}
    for vi, vpc in enumerate(t.vpcs):
        path = ("vpcs", vi)
        tenant = tenants.get(vpc.tenant)
        if tenant is None:
            yield Problem(f"unknown tenant {vpc.tenant!r}", path=path + ("tenant",),
                          hint=_ref_hint(vpc.tenant, tenants, "tenants"))
            continue
        yield from _vms(t, vi, vpc)
        sites = {s.name: s for s in tenant.sites}
        for k, name in enumerate(vpc.sites):
            if name not in sites:
                yield Problem(f"{name!r} is not a site of tenant {tenant.name!r}", path=path + ("sites", k),
                              hint=_ref_hint(name, sites, f"sites of {tenant.name}"))
        for name, n in Counter(vpc.sites).items():
            if n > 1:
                yield Problem(f"site {name!r} listed {n} times", path=path + ("sites",), hint="list each site once")
        if vpc.type == "vpls":
            if len(vpc.sites) != 1:
                yield Problem(f"a vpls VPC extends exactly one enterprise LAN segment; it lists {len(vpc.sites)}",
                              path=path + ("sites",), hint="name the one site whose LAN the VPC joins")
            elif vpc.sites[0] in sites and vpc.subnet:
                lan = ipaddress.ip_network(sites[vpc.sites[0]].subnet)
                if ipaddress.ip_network(vpc.subnet) != lan:
                    yield Problem(f"a vpls VPC shares its site's LAN {lan}; subnet {vpc.subnet} differs",
                                  path=path + ("subnet",), hint=f"leave subnet out, or write {lan}")
        elif not vpc.subnet:
            yield Problem("an l3vpn VPC needs its own subnet (the cloud becomes a new routed site)",
                          path=path, hint="add subnet: e.g. 10.1.100.0/24")
        if vpc.vlan is not None:
            if vpc.vlan in vlans:
                yield Problem(f"VLAN {vpc.vlan} is already used by VPC {t.vpcs[vlans[vpc.vlan]].name!r}",
                              path=path + ("vlan",), hint="each VPC needs its own VLAN in a cloud site")
            vlans.setdefault(vpc.vlan, vi)
