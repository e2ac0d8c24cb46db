"""VPCs declared on a running testbed (`cloudnet-emu vpc create|delete`), checked like a topology's.

A VPLS VPC's enterprise side (the site's LAN on a VPLS instance at the site's PE) is made with the VPC
and goes with it: the Network Manager's `provision` / `unprovision`, as at `up` and `down`."""
from __future__ import annotations

import ipaddress

from . import state
from .acl.checks import check_acl
from .errors import Problem, SpecError, StateError
from .spec.load import _from_pydantic
from .spec.model import Vpc
from .world import World

from pydantic import ValidationError
from .managers import of_testbed
from .managers.ledger import Ledger


def create(testbed: str, spec: dict) -> dict:
    """Check a VPC against the running testbed as a topology file's would be, and enter it."""
    record = state.read(testbed)
    world = state.world(record)
    try:
        vpc = Vpc.model_validate({k: v for k, v in spec.items() if v is not None})
    except ValidationError as exc:
        problems = [_from_pydantic(e, Vpc) for e in exc.errors()]
        for p in problems:
            p.file = "vpc create"
        raise SpecError(problems) from None
    problems = _problems(world, vpc)
    for p in problems:
        p.file = "vpc create"
    if problems:
        raise SpecError(problems)
    entry = world.add_vpc(vpc)
    record["info"] = world.to_info()
    state.write(testbed, record)
    if vpc.type == "vpls":
        try:
            of_testbed(testbed)[1].provision({"vpc": vpc.name})
        except BaseException:
            _forget(testbed, vpc.name)      # nothing half-made: the VPC is entered with its enterprise side or not at all
            raise
    return entry.to_dict()


def _problems(world: World, vpc: Vpc) -> list[Problem]:
    problems = []
    if vpc.name in world.vpcs:
        problems.append(Problem(f"VPC {vpc.name!r} exists already", hint="pick another name"))
    if vpc.tenant not in world.tenants:
        problems.append(Problem(f"unknown tenant {vpc.tenant!r}", hint=f"tenants: {', '.join(world.tenants)}"))
    sites = world.tenant_sites(vpc.tenant)
    for s in vpc.sites:
        if s not in sites:
            problems.append(Problem(f"{s!r} is not a site of {vpc.tenant}", hint=f"sites: {', '.join(sites)}"))
    pinned = {v.vlan: n for n, v in world.vpcs.items() if v.vlan is not None}
    if vpc.vlan in pinned:
        problems.append(Problem(f"VLAN {vpc.vlan} is already pinned by VPC {pinned[vpc.vlan]!r}",
                                hint="each VPC needs its own VLAN in a cloud site; leave --vlan out to get one"))
    if vpc.type == "vpls" and len(vpc.sites) != 1:
        problems.append(Problem("a vpls VPC extends exactly one enterprise site", hint="give one --site"))
    if vpc.acl is not None:
        problems += check_acl(vpc.acl, ("acl",), vpc.type, [vm.name for vm in vpc.vms], vpc.sites + list(world.clouds))
    if vpc.type == "l3vpn":
        if not vpc.subnet:
            problems.append(Problem("an l3vpn VPC needs --subnet", hint="e.g. 10.1.200.0/24"))
        else:
            problems += world.pool_overlaps(f"VPC {vpc.name}", vpc.subnet) + _tenant_overlaps(world, vpc, sites)
    return problems


def _tenant_overlaps(world: World, vpc: Vpc, sites: dict) -> list[Problem]:
    net = ipaddress.ip_network(vpc.subnet)
    taken = sorted({s.subnet for s in sites.values()} | {v.subnet for v in world.vpcs.values()
                                                         if v.tenant == vpc.tenant and v.subnet})
    return [Problem(f"{net} overlaps {other} of tenant {vpc.tenant}", hint="pick a subnet the tenant does not use")
            for other in taken if net.overlaps(ipaddress.ip_network(other))]


def delete(testbed: str, name: str) -> None:
    record = state.read(testbed)
    world = state.world(record)
    if name not in world.vpcs:
        raise StateError(f"no VPC {name!r}")
    vms = [n for n, vm in Ledger(testbed, "cloud").data.get("vms", {}).items() if vm["vpc"] == name]
    if vms:
        raise StateError(f"VPC {name} still has VMs ({', '.join(vms)}): detach them first")
    if world.vpcs[name].type == "vpls":
        of_testbed(testbed)[1].unprovision({"vpc": name})
    _forget(testbed, name)


def _forget(testbed: str, name: str) -> None:
    record = state.read(testbed)
    world = state.world(record)
    del world.vpcs[name]
    record["info"] = world.to_info()
    state.write(testbed, record)
