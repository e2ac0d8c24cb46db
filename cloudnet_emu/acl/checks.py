"""Relations of a VPC's access rules to the topology (problems with data paths; load.py adds lines).

Checked: the VPC is an L3VPN (a VPLS VPC is bridged at the PE, where these rules, an IPv4
forward filter, do not see its traffic); every endpoint names a VM of the VPC, a site it
spans (an enterprise site it joins, or a cloud site), a CIDR, an address or `any`; ports
only with tcp/udp; rule names unique.
"""
from __future__ import annotations

import difflib
import ipaddress
from typing import Iterable, Iterator

from ..errors import Problem
from .model import Acl


def parse_cidr(text: str):
    """An IPv4 address or network (host bits allowed for an address only), or None if it is a name."""
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ValueError:
        return None


def looks_like_address(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or "/" in text)


def check_acl(acl: Acl, path: tuple, vpc_type: str, vms: Iterable[str], sites: Iterable[str],
              other_vms: dict[str, str] = None) -> Iterator[Problem]:
    """Problems of one VPC's `acl:` at data path `path` (vms, sites: the names a rule may use;
    other_vms: VM -> its VPC, for a better hint)."""
    if vpc_type != "l3vpn":
        yield Problem("access rules apply to l3vpn VPCs only; this VPC is vpls (bridged at the PE, where "
                      "the IPv4 forward filter does not see its traffic)", path=path,
                      hint="remove acl: here, or make the VPC type: l3vpn with its own subnet")
        return
    vms, sites, other_vms = set(vms), set(sites), other_vms or {}
    seen: dict[str, int] = {}
    for i, (rule, name) in enumerate(zip(acl.rules, acl.names())):
        rpath = path + ("rules", i)
        if name in seen:
            yield Problem(f"rule name {name!r} is used twice (first by rule {seen[name] + 1})",
                          path=rpath + (("name",) if rule.name else ()), hint="give each rule its own name",
                          at_value=True)
        seen.setdefault(name, i)
        if name == "default":
            yield Problem("'default' names the counter of the VPC's default verdict", path=rpath + ("name",),
                          hint="give the rule another name", at_value=True)
        if rule.port and rule.proto not in ("tcp", "udp"):
            yield Problem(f"ports need proto tcp or udp; this rule has proto {rule.proto}", path=rpath + ("port",),
                          hint="add proto: tcp (or udp), or remove port:", at_value=True)
        for key, values in (("from", rule.sources), ("to", rule.targets)):
            for k, word in enumerate(values):
                epath = rpath + (key,) + ((k,) if not isinstance(getattr(rule, "src" if key == "from" else "to"),
                                                                 str) else ())
                yield from _endpoint(word, epath, vms, sites, other_vms)


def _endpoint(word: str, path: tuple, vms: set, sites: set, other_vms: dict) -> Iterator[Problem]:
    if word == "any" or word in vms or word in sites:
        return
    if looks_like_address(word):
        if parse_cidr(word) is None:
            try:
                loose = ipaddress.IPv4Network(word, strict=False)
                msg, hint = f"{word!r} has host bits set", f"the network is {loose}"
            except ValueError:
                msg, hint = f"{word!r} is not an IPv4 address or network", "write e.g. 10.1.100.5 or 10.1.100.0/28"
            yield Problem(msg, path=path, hint=hint, at_value=True)
        return
    if word in other_vms:
        yield Problem(f"VM {word!r} belongs to VPC {other_vms[word]!r}, not this one", path=path,
                      hint="rules of a VPC name its own VMs and sites", at_value=True)
        return
    known = sorted(vms | sites)
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    yield Problem(f"unknown VM or site {word!r} in an access rule", path=path, at_value=True,
                  hint=(f"did you mean {close[0]!r}? " if close else "")
                  + f"known here: {', '.join(known + ['any']) or 'any'}, or write a CIDR or an address")


def topology_problems(t) -> Iterator[Problem]:
    """Every VPC's `acl:` in a Topology."""
    owner = {vm.name: v.name for v in t.vpcs for vm in v.vms}
    clouds = [c.name for c in t.cloud_sites]
    for i, vpc in enumerate(t.vpcs):
        if vpc.acl is None:
            continue
        mine = [vm.name for vm in vpc.vms]
        yield from check_acl(vpc.acl, ("vpcs", i, "acl"), vpc.type, mine, list(vpc.sites) + clouds,
                             {n: v for n, v in owner.items() if v != vpc.name})


def scenario_problems(topo, step, vms: Iterable[str], path: tuple) -> Iterator[Problem]:
    """A scenario's `acl:` step: the VPC exists; its rules name VMs attached so far, or sites."""
    vpc = next((v for v in topo.vpcs if v.name == step.vpc), None)
    if vpc is None:
        yield Problem(f"unknown VPC {step.vpc!r}", path=path + ("vpc",), at_value=True,
                      hint=f"VPCs: {', '.join(v.name for v in topo.vpcs) or 'none'}")
        return
    sites = list(vpc.sites) + [c.name for c in topo.cloud_sites]
    yield from check_acl(step, path, vpc.type, list(vms), sites)
