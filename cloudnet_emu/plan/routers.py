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

from dataclasses import dataclass
from typing import Optional

from .. import naming
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
            self.placed[key] = self._create(pe, tenant, tenant_index)
        return self.placed[key]

    def _create(self, pe: str, tenant: str, tenant_index: int) -> Placement:
        raise NotImplementedError


class KernelVrf(LogicalRouters):
    name = "vrf"

    def _create(self, pe, tenant, tenant_index):
        dev, table = naming.vrf_dev(tenant), addressing.vrf_table(tenant_index)
        self.plan.add(Vrf(pe, dev, table), Route(pe, "0.0.0.0/0", table=table, kind="unreachable", metric=4278198272))
        return Placement(pe, tenant, pe, dev, table)


class NetnsVrf(LogicalRouters):
    name = "netns"

    def _create(self, pe, tenant, tenant_index):
        node = naming.vrf_node(pe, tenant)
        self.plan.nodes.append(Node(node, "vrf", forwarding=True, tenant=tenant, site=pe))
        self.plan.add(Route(node, "0.0.0.0/0", kind="unreachable", metric=4278198272))
        return Placement(pe, tenant, node, None, None)


ROUTERS = {"vrf": KernelVrf, "netns": NetnsVrf}
