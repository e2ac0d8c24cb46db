"""VPCs declared on a running testbed (`cloudnet-emu vpc create|delete`), checked like a topology's."""
from __future__ import annotations

import ipaddress

from . import state
from .errors import Problem, SpecError, StateError
from .spec.load import _from_pydantic
from .spec.model import Vpc

from pydantic import ValidationError


def create(testbed: str, spec: dict) -> dict:
    record = state.read(testbed)
    info = record["info"]
    try:
        vpc = Vpc.model_validate({k: v for k, v in spec.items() if v is not None})
    except ValidationError as exc:
        problems = [_from_pydantic(e, Vpc) for e in exc.errors()]
        for p in problems:
            p.file = "vpc create"
        raise SpecError(problems) from None
    problems = []
    if vpc.name in info["vpcs"]:
        problems.append(Problem(f"VPC {vpc.name!r} exists already", file="vpc create", hint="pick another name"))
    if vpc.tenant not in info["tenants"]:
        problems.append(Problem(f"unknown tenant {vpc.tenant!r}", file="vpc create",
                                hint=f"tenants: {', '.join(info['tenants'])}"))
    sites = {n: m for n, m in info["sites"].items() if m["tenant"] == vpc.tenant}
    for s in vpc.sites:
        if s not in sites:
            problems.append(Problem(f"{s!r} is not a site of {vpc.tenant}", file="vpc create",
                                    hint=f"sites: {', '.join(sites)}"))
    pinned = {m.get("vlan"): n for n, m in info["vpcs"].items() if m.get("vlan") is not None}
    if vpc.vlan in pinned:
        problems.append(Problem(f"VLAN {vpc.vlan} is already pinned by VPC {pinned[vpc.vlan]!r}", file="vpc create",
                                hint="each VPC needs its own VLAN in a cloud site; leave --vlan out to get one"))
    if vpc.type == "vpls" and len(vpc.sites) != 1:
        problems.append(Problem("a vpls VPC extends exactly one enterprise site", file="vpc create",
                                hint="give one --site"))
    if vpc.type == "l3vpn":
        if not vpc.subnet:
            problems.append(Problem("an l3vpn VPC needs --subnet", file="vpc create", hint="e.g. 10.1.200.0/24"))
        else:
            net = ipaddress.ip_network(vpc.subnet)
            taken = sorted({m["subnet"] for m in sites.values()} | {m["subnet"] for m in info["vpcs"].values()
                                                                    if m["tenant"] == vpc.tenant and m["subnet"]})
            for other in taken:
                if net.overlaps(ipaddress.ip_network(other)):
                    problems.append(Problem(f"{net} overlaps {other} of tenant {vpc.tenant}", file="vpc create",
                                            hint="pick a subnet the tenant does not use"))
    if problems:
        raise SpecError(problems)
    subnet = vpc.subnet or (sites[vpc.sites[0]]["subnet"] if vpc.sites else None)
    info["vpcs"][vpc.name] = {"index": max((m["index"] for m in info["vpcs"].values()), default=-1) + 1,
                              "tenant": vpc.tenant, "type": vpc.type, "subnet": subnet, "sites": vpc.sites,
                              "vlan": vpc.vlan, "placement": vpc.placement, "vms": [],
                              "port_security": vpc.port_security}
    state.write(testbed, record)
    return info["vpcs"][vpc.name]


def delete(testbed: str, name: str) -> None:
    from .managers.ledger import Ledger
    record = state.read(testbed)
    if name not in record["info"]["vpcs"]:
        raise StateError(f"no VPC {name!r}")
    vms = [n for n, vm in Ledger(testbed, "cloud").data.get("vms", {}).items() if vm["vpc"] == name]
    if vms:
        raise StateError(f"VPC {name} still has VMs ({', '.join(vms)}): detach them first")
    del record["info"]["vpcs"][name]
    state.write(testbed, record)
