"""The VMs the VM-based cases attack from and at, attached through the Cloud Manager, then detached.

    atk-a1  attacker, VPC A (the first VPC), cloud site C1, first server
    atk-a2  same-tenant victim, VPC A, C1, second server (or the first)
    atk-a3  VPC A in cloud site C2: the second location of the flapping MAC
    atk-b1  cross-tenant victim, VPC B (the first VPC of another tenant), C1, first server

Small (16 MB) so that case 9's migration pre-copy is short.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import pipeline
from ..errors import CloudnetError
from .tools import Env


class NoActors(CloudnetError):
    pass


@dataclass
class Actors:
    env: Env
    names: list = field(default_factory=list)
    vpc_a: str = ""
    vpc_b: str = ""

    @classmethod
    def attach(cls, env: Env) -> "Actors":
        vpcs = env.info.get("vpcs", {})
        clouds = sorted(env.info.get("clouds", {}))
        if not vpcs or len(clouds) < 2:
            raise NoActors("cases vlan_hop, arp_spoof, mac_flap and reconverge need a VPC and two cloud sites")
        vpc_a = next((n for n, v in vpcs.items() if v["type"] == "vpls"), next(iter(vpcs)))
        tenant_a = vpcs[vpc_a]["tenant"]
        vpc_b = next((n for n, v in vpcs.items() if v["tenant"] != tenant_a), None)
        if vpc_b is None:
            raise NoActors("the attack needs VPCs of two tenants")
        c1, c2 = clouds[:2]
        servers = sorted(env.info["clouds"][c1]["servers"])
        plan = [("atk-a1", vpc_a, c1, servers[0]), ("atk-a2", vpc_a, c1, servers[-1]),
                ("atk-a3", vpc_a, c2, None), ("atk-b1", vpc_b, c1, servers[0])]
        self = cls(env, [], vpc_a, vpc_b)
        cloud, _ = pipeline.managers(env.testbed)
        try:
            for name, vpc, site, server in plan:
                cloud.attach(vpc, site=site, server=server, mem_mb=16, name=name)
                self.names.append(name)
        except BaseException:
            self.detach()
            raise
        env.reload_vms()
        return self

    def detach(self):
        cloud, _ = pipeline.managers(self.env.testbed)
        for name in reversed(self.names):
            cloud.detach(name)
        self.names.clear()
        self.env.reload_vms()


def vm(env: Env, name: str) -> dict:
    if name not in env.vms:
        raise NoActors(f"VM {name} is not attached: run the case through attack.run()")
    return env.vms[name]
