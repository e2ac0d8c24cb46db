"""Logical routers: where a tenant's VRF on a PE lives.  Two realizations, one interface.

    KernelVrf  the VRF is a Linux VRF device `vrf-<tenant>` (table 100+t) in the PE's
               namespace; the tenant's interfaces are enslaved to it.
    NetnsVrf   the VRF is a namespace of its own, node `<pe>.<tenant>`; the tenant's
               interfaces live there and it routes with its main table.

Both put an unreachable default in the VRF so that nothing falls through to the
provider's global table (RFC 4364 isolation).  `vrf()` returns a Placement telling
callers which node, master device and table to use; it is idempotent per (pe, tenant).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

from .. import naming
from .. import world as W
from . import addressing
from .actions import Node, Plan, Route, Vrf


@dataclass(frozen=True)
class Placement:
    pe: str
    tenant: str
    node: str                  # namespace holding the VRF's interfaces and routes
    master: Optional[str]      # VRF device to enslave interfaces to (kernel VRF), else None
    table: Optional[int]       # routing table of the VRF (kernel VRF), else None (main)


class LogicalRouters:
    name = ""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.placed: dict[tuple[str, str], Placement] = {}

    def vrf(self, pe: str, tenant: str, tenant_index: int) -> Placement:
        key = (pe, tenant)
        if key not in self.placed:
            placement, nodes, actions = self.create(pe, tenant, tenant_index)
            self.plan.nodes.extend(nodes)
            self.plan.add(*actions)
            self.placed[key] = placement
            self.plan.world.vrfs[f"{pe}/{tenant}"] = W.Vrf.from_dict(asdict(placement))
        return self.placed[key]

    @staticmethod
    def create(pe: str, tenant: str, index: int) -> tuple[Placement, list, list]:
        """(placement, new nodes, actions) of a VRF named `tenant` on router `pe`."""
        raise NotImplementedError


UNREACHABLE_METRIC = 4278198272   # what `ip route add vrf X unreachable default` uses: last resort


class KernelVrf(LogicalRouters):
    name = "vrf"

    @staticmethod
    def create(pe, tenant, index):
        dev, table = naming.vrf_dev(tenant), addressing.vrf_table(index)
        return (Placement(pe, tenant, pe, dev, table), [],
                [Vrf(pe, dev, table), Route(pe, "0.0.0.0/0", table=table, kind="unreachable",
                                            metric=UNREACHABLE_METRIC)])


class NetnsVrf(LogicalRouters):
    name = "netns"

    @staticmethod
    def create(pe, tenant, index):
        node = naming.vrf_node(pe, tenant)
        return (Placement(pe, tenant, node, None, None),
                [Node(node, "vrf", forwarding=True, tenant=tenant, site=pe)],
                [Route(node, "0.0.0.0/0", kind="unreachable", metric=UNREACHABLE_METRIC)])


ROUTERS = {"vrf": KernelVrf, "netns": NetnsVrf}
