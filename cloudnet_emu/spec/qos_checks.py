"""Relations of a topology's network-resource parts: bandwidth reservations and placement `nearest`.

    reservations[i].vpc        a VPC of the topology, of type l3vpn (routed at the PE)
    reservations[i].between    VMs declared in that VPC, hosts of its enterprise sites, or those sites
    reservations[i].site       (hose) an enterprise site the VPC joins
    vpcs[i].near               an enterprise site of the VPC's tenant
"""
from __future__ import annotations

from collections import Counter
from typing import Iterator

from ..errors import Problem
from .model import Topology


def check(t: Topology) -> Iterator[Problem]:
    vpcs = {v.name: v for v in t.vpcs}
    sites = {s.name: s for tenant in t.tenants for s in tenant.sites}
    tenant_sites = {tenant.name: {s.name for s in tenant.sites} for tenant in t.tenants}
    for vi, vpc in enumerate(t.vpcs):
        if vpc.near is not None and vpc.near not in tenant_sites.get(vpc.tenant, set()):
            yield Problem(f"{vpc.near!r} is not an enterprise site of tenant {vpc.tenant!r}",
                          path=("vpcs", vi, "near"),
                          hint=f"sites of {vpc.tenant}: {', '.join(sorted(tenant_sites.get(vpc.tenant, ()))) or 'none'}")
    for name, n in Counter(r.name for r in t.reservations).items():
        if n > 1:
            yield Problem(f"reservation name {name!r} is used {n} times", path=("reservations",),
                          hint="give each reservation its own name")
    for ri, r in enumerate(t.reservations):
        path = ("reservations", ri)
        vpc = vpcs.get(r.vpc)
        if vpc is None:
            yield Problem(f"unknown VPC {r.vpc!r}", path=path + ("vpc",),
                          hint=f"VPCs: {', '.join(vpcs) or 'none'}")
            continue
        if vpc.type != "l3vpn":
            yield Problem(f"VPC {r.vpc} is {vpc.type}: reservations are for l3vpn VPCs (routed at the PE, where "
                          "their packets can be classified)", path=path + ("vpc",),
                          hint="reserve on an l3vpn VPC, or make this VPC l3vpn")
            continue
        ends = {vm.name for vm in vpc.vms} | {s for s in vpc.sites}
        ends |= {h.name for s in vpc.sites if s in sites for h in sites[s].hosts}
        for k, end in enumerate(r.between or []):
            if end not in ends:
                yield Problem(f"{end!r} is neither a VM of VPC {r.vpc} nor a host or site it joins",
                              path=path + ("between", k),
                              hint=f"endpoints of {r.vpc}: {', '.join(sorted(ends)) or 'none'}")
        if r.between and r.between[0] == r.between[1]:
            yield Problem("a pipe joins two different endpoints", path=path + ("between",),
                          hint="name the two ends of the traffic to protect")
        if r.site is not None and r.site not in vpc.sites:
            yield Problem(f"{r.site!r} is not an enterprise site of VPC {r.vpc}", path=path + ("site",),
                          hint=f"its sites: {', '.join(vpc.sites) or 'none'}")
