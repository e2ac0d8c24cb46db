"""The runner's adapter from a scenario's names to the running testbed: namespaces, addresses, VRFs,
MACs, and what the steps so far measured (migrations, metrics).  Every step and check runs against one.

`world` is the testbed's typed description (cloudnet_emu/world), re-read with the record at each refresh."""
from __future__ import annotations

import ipaddress
from typing import Optional

from .. import naming, state
from ..managers import of_testbed
from ..errors import CloudnetError


class World:
    """Names in a scenario -> namespaces and addresses in the running testbed."""

    def __init__(self, testbed: str, report_dir: Optional[str] = None):
        self.testbed = testbed
        self.report_dir = report_dir
        self.migrations: dict[str, dict] = {}     # vm -> what its last migration saw
        self.metrics: dict[str, float] = {}
        self.cut: Optional[tuple[str, float]] = None   # the link a `link` step took down and when
        self.refresh()

    def refresh(self):
        self.record = state.read(self.testbed)
        self.world = state.world(self.record)
        self.cloud, self.network = of_testbed(self.testbed)
        self.addr: dict[str, str] = {}
        for name, site in self.world.sites.items():
            self.addr.update(site.hosts)
            self.addr[name] = site.gateway
        if self.world.internet:
            self.addr[self.world.internet.node] = self.world.internet.address.split("/")[0]
        for router, lo in self.world.loopbacks.items():
            self.addr[router] = lo.split("/")[0]
        for vm in self.cloud.vms():
            self.addr[vm["name"]] = vm["ip"]

    def vrf(self, node: str, tenant: str) -> dict:
        key = f"{node}/{tenant}"
        if key in self.world.vrfs:
            return self.world.vrfs[key].to_dict()
        unit = self.network.ledger.units.get(f"vrf:{key}")
        if unit is None:
            raise CloudnetError(f"no VRF of {tenant} on {node}")
        return unit["meta"]["placement"]

    def netns(self, node: str) -> Optional[str]:
        return None if node == "root" else naming.netns(self.testbed, node)

    def address(self, name: str) -> str:
        try:
            return str(ipaddress.IPv4Address(name))
        except ValueError:
            pass
        if name not in self.addr:
            raise CloudnetError(f"{name!r} has no address in testbed {self.testbed}")
        return self.addr[name]

    def mac(self, name: str) -> str:
        vm = self.cloud.data["vms"].get(name)
        return vm["mac"] if vm else name.lower()
