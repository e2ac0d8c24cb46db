"""One typed world: the description of a running testbed, which state.json keeps as `info`.

Written in two places only: `plan/build.py` fills `plan.world` while it plans (with
`plan/routers.py` adding `vrfs` and `plan/core.py` adding `vpn`), and `vpcs.create` adds a VPC to
a running testbed; both go through `World.add_vpc`, so a VPC entry has one shape however it came.

Read it with `World.from_info(record["info"])` (or `state.world(record)`), write it back with
`world.to_info()`: the same JSON `info` always had, so old state files load and readers that still
take the dict keep working.  `World.of(x)` takes either (for code whose callers pass the dict).

Accessors (all plain attributes; parts in world/parts.py):
    tenants      [name]: a tenant's index (VRF tables, VNIs, labels) is its position, `tenant_index(t)`
    sites        site -> Site (enterprise sites; `tenant_sites(t)`, `hosts(t)`)
    clouds       cloud site -> Cloud (its `servers`: server -> Server)
    vpcs         VPC -> Vpc
    vrfs         "pe/tenant" -> Vrf (each tenant's logical router on a PE)
    vpn          tenant -> Vpn (only tenants whose sites sit behind more than one PE)
    core_links   [CoreLink]
    loopbacks    router -> a.b.c.d/32
    internet     Internet, or None
    underlay     Underlay (router and PE indices, pools, next hops)
    lsp          "router->pe" -> transport label (MPLS core only), or None
    control      Control (realization; under bgp what FRR must converge to)
    reasons      construct -> why its realization was chosen
The dict keys `plan` leaves out when there is nothing to say (no underlay, sites, clouds, VRFs, VPNs, core
links, Internet or LSPs) stay out of `to_info()` then too.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Optional, Union

from ..errors import Problem
from ..spec.model import Vpc as VpcSpec
from .parts import CoreLink, Cloud, Control, Internet, Site, Underlay, Vpc, Vpn, Vrf

# info's keys in the order plan has always written them; False: left out while empty
_KEYS = (("reasons", True), ("core_links", False), ("loopbacks", True), ("underlay", False), ("internet", False),
         ("lsp", False), ("vrfs", False), ("sites", False), ("vpn", False), ("clouds", False), ("control", True),
         ("tenants", True), ("vpcs", True))


def _each(cls):
    return lambda d: {k: cls.from_dict(v) for k, v in d.items()}


def _dump_each(d: dict) -> dict:
    return {k: v.to_dict() for k, v in d.items()}


_LOAD = {"core_links": lambda x: [CoreLink.from_dict(c) for c in x], "underlay": Underlay.from_dict,
         "internet": Internet.from_dict, "vrfs": _each(Vrf), "sites": _each(Site), "vpn": _each(Vpn),
         "clouds": _each(Cloud), "control": Control.from_dict, "vpcs": _each(Vpc)}
_DUMP = {"core_links": lambda x: [c.to_dict() for c in x], "underlay": Underlay.to_dict,
         "internet": Internet.to_dict, "vrfs": _dump_each, "sites": _dump_each, "vpn": _dump_each,
         "clouds": _dump_each, "control": Control.to_dict, "vpcs": _dump_each}


@dataclass
class World:
    reasons: dict[str, str] = field(default_factory=dict)
    core_links: list[CoreLink] = field(default_factory=list)
    loopbacks: dict[str, str] = field(default_factory=dict)
    underlay: Optional[Underlay] = None
    internet: Optional[Internet] = None
    lsp: Optional[dict[str, int]] = None
    vrfs: dict[str, Vrf] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    vpn: dict[str, Vpn] = field(default_factory=dict)
    clouds: dict[str, Cloud] = field(default_factory=dict)
    control: Control = field(default_factory=lambda: Control("static"))
    tenants: list[str] = field(default_factory=list)
    vpcs: dict[str, Vpc] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)        # keys a newer writer added, written back as they came

    @classmethod
    def from_info(cls, info: dict) -> "World":
        known = {k for k, _ in _KEYS}
        return cls(**{k: _LOAD[k](v) if k in _LOAD else v for k, v in info.items() if k in known},
                   extra={k: v for k, v in info.items() if k not in known})

    @classmethod
    def of(cls, world_or_info: Union["World", dict]) -> "World":
        return world_or_info if isinstance(world_or_info, World) else cls.from_info(world_or_info)

    def to_info(self) -> dict:
        out = {}
        for key, always in _KEYS:
            value = getattr(self, key)
            if always or value:
                out[key] = _DUMP[key](value) if key in _DUMP and value is not None else value
        return {**out, **self.extra}

    def tenant_index(self, tenant: str) -> int:
        return self.tenants.index(tenant)

    def tenant_sites(self, tenant: str) -> dict[str, Site]:
        return {n: s for n, s in self.sites.items() if s.tenant == tenant}

    def hosts(self, tenant: Optional[str] = None) -> dict[str, str]:
        """host -> bare address, of one tenant or of all."""
        return {h: ip for s in self.sites.values() if tenant is None or s.tenant == tenant for h, ip in s.hosts.items()}

    def add_vpc(self, vpc: VpcSpec) -> Vpc:
        """Enter a VPC (validated spec) under the next index; without a subnet it takes its first site's."""
        first = self.sites.get(vpc.sites[0]) if vpc.sites else None
        entry = Vpc(index=max((v.index for v in self.vpcs.values()), default=-1) + 1, tenant=vpc.tenant,
                    type=vpc.type, subnet=vpc.subnet or (first.subnet if first else None), sites=list(vpc.sites), vlan=vpc.vlan,
                    placement=vpc.placement, near=vpc.near, vms=[vm.model_dump() for vm in vpc.vms],
                    acl=vpc.acl.model_dump(by_alias=True) if vpc.acl else None, port_security=vpc.port_security)
        self.vpcs[vpc.name] = entry
        return entry

    def pool_overlaps(self, name: str, subnet: str) -> list[Problem]:
        """A tenant address range that overlaps a provider pool: the check topology files get."""
        a = ipaddress.ip_network(subnet)
        pools = self.underlay.pools if self.underlay else {}
        return [Problem(f"{name}: {a} overlaps the provider's {k} pool {p}",
                        hint="tenants may use any private range except the provider pools")
                for k, p in pools.items() if a.overlaps(ipaddress.ip_network(p))]
