"""The VMs the VM-based cases attack from and at, attached through the Cloud Manager, then detached.

    atk-a1  attacker, VPC A (the first VPC), cloud site C1, first server
    atk-a2  same-tenant victim, VPC A, C1, second server (or the first)
    atk-a3  VPC A in cloud site C2: the second location of the flapping MAC
    atk-b1  cross-tenant victim, VPC B (the first VPC of another tenant), C1, first server
    atk-s1, atk-s2  in VPC atk-sec (tenant A, l3vpn, port_security: true, created for the attack
            in a free 10.254.x.0/24 and deleted afterwards), C1, first and last server

Small (16 MB) so that case 9's migration pre-copy is short.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ..managers import of_testbed
from .. import vpcs as vpc_store
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
    secure_vpc: str = ""

    @classmethod
    def attach(cls, env: Env) -> "Actors":
        vpcs = env.world.vpcs
        clouds = sorted(env.world.clouds)
        if not vpcs or len(clouds) < 2:
            raise NoActors("cases vlan_hop, arp_spoof, mac_flap and reconverge need a VPC and two cloud sites")
        vpc_a = next((n for n, v in vpcs.items() if v.type == "vpls"), next(iter(vpcs)))
        tenant_a = vpcs[vpc_a].tenant
        vpc_b = next((n for n, v in vpcs.items() if v.tenant != tenant_a), None)
        if vpc_b is None:
            raise NoActors("the attack needs VPCs of two tenants")
        c1, c2 = clouds[:2]
        servers = sorted(env.world.clouds[c1].servers)
        plan = [("atk-a1", vpc_a, c1, servers[0]), ("atk-a2", vpc_a, c1, servers[-1]),
                ("atk-a3", vpc_a, c2, None), ("atk-b1", vpc_b, c1, servers[0]),
                ("atk-s1", SECURE_VPC, c1, servers[0]), ("atk-s2", SECURE_VPC, c1, servers[-1])]
        self = cls(env, [], vpc_a, vpc_b)
        try:
            vpc_store.create(env.testbed, {"name": SECURE_VPC, "tenant": tenant_a, "type": "l3vpn",
                                      "subnet": _free_subnet(env, tenant_a), "port_security": True})
            self.secure_vpc = SECURE_VPC
            cloud, _ = of_testbed(env.testbed)
            for name, vpc, site, server in plan:
                cloud.attach(vpc, site=site, server=server, mem_mb=16, name=name)
                self.names.append(name)
        except BaseException:
            self.detach()
            raise
        env.reload_vms()
        return self

    def detach(self):
        cloud, _ = of_testbed(self.env.testbed)
        for name in reversed(self.names):
            cloud.detach(name)
        self.names.clear()
        if self.secure_vpc:
            vpc_store.delete(self.env.testbed, self.secure_vpc)
            self.secure_vpc = ""
        self.env.reload_vms()


SECURE_VPC = "atk-sec"


def _free_subnet(env: Env, tenant: str) -> str:
    used = [ipaddress.ip_network(m.subnet) for m in list(env.world.sites.values()) + list(env.world.vpcs.values())
            if m.subnet]
    return next(str(n) for n in (ipaddress.ip_network(f"10.254.{i}.0/24") for i in range(256))
                if not any(n.overlaps(u) for u in used))


def vm(env: Env, name: str) -> dict:
    if name not in env.vms:
        raise NoActors(f"VM {name} is not attached: run the case through attack.run()")
    return env.vms[name]
