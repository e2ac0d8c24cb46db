"""`attach: {vpc, site, server, ...}`: the Cloud Manager places a new VM in a VPC (Figure 2's four steps)."""
from __future__ import annotations

import ipaddress
import re
from typing import Iterator, Optional

from pydantic import Field, StrictInt

from ...errors import Problem
from ...spec.checks import _ref_hint
from ...spec.model import MAC_RE, Name, Policy, Strict
from ..kind import StepKind
from ..paper import RESERVED_VM_NAMES, Paper, PaperVm, cloud_ref, fits, server_ref
from ..world import World


class Attach(Strict):
    vpc: Name
    site: Optional[Name] = None
    server: Optional[Name] = None
    vcpus: StrictInt = Field(1, gt=0)
    mem_mb: StrictInt = Field(512, gt=0)
    ip: Optional[str] = None
    mac: Optional[str] = None
    name: Optional[Name] = None
    policy: Optional[Policy] = None
    near: Optional[Name] = Field(None, description="policy nearest: the enterprise site to be near to")


def paper(w: Paper, a: Attach, path: tuple, i: int, ok: bool) -> Iterator[Problem]:
    vpc = w.vpcs.get(a.vpc)
    if vpc is None:
        yield Problem(f"unknown VPC {a.vpc!r}", path=path + ("vpc",), hint=_ref_hint(a.vpc, w.vpcs, "VPCs"),
                      at_value=True)
    site_ok = a.site is None or a.site in w.clouds
    if a.site is not None:
        yield from cloud_ref(w, a.site, path + ("site",))
    if a.server is not None:
        bad = list(server_ref(w, a.site, a.server, path + ("server",)))
        yield from bad
        site_ok = site_ok and not bad
    if a.ip is not None:
        yield from _vm_ip(w, vpc, a.ip, path + ("ip",))
    if a.mac is not None and not re.match(MAC_RE, a.mac):
        yield Problem(f"invalid MAC {a.mac!r}", path=path + ("mac",), at_value=True,
                      hint="write six lower-case hex pairs, e.g. 02:00:00:00:00:01 (or leave mac out)")
    if a.name is not None and a.name in RESERVED_VM_NAMES:
        yield Problem(f"{a.name!r} is a reserved name", path=path + ("name",),
                      hint=RESERVED_VM_NAMES[a.name] + "; pick another VM name", at_value=True)
    elif a.name is not None and ok and (a.name in w.nodes or a.name in w.live):
        what = "a node of the topology" if a.name in w.nodes else "a VM attached earlier"
        yield Problem(f"the name {a.name!r} is taken by {what}", path=path + ("name",), at_value=True,
                      hint="VM names share one namespace with the topology's nodes; pick another")
    if ok and site_ok:
        owner = {s.name: c.name for c in w.topo.cloud_sites for s in c.servers}
        site = a.site or owner.get(a.server)
        if site:
            cpus_fit = any(s.vcpus >= a.vcpus for s in w.clouds[site].servers if a.server in (None, s.name))
            yield from fits(w, site, a.server, a.vcpus, a.mem_mb, path + ("mem_mb" if cpus_fit else "vcpus",),
                             "the VM")
        elif w.clouds and all(list(fits(w, s, None, a.vcpus, a.mem_mb, path, "")) for s in w.clouds):
            yield Problem(f"the VM ({a.vcpus} vCPU, {a.mem_mb} MB) does not fit any server of any cloud site",
                          path=path + ("vcpus",), hint="make the VM smaller, or mark the step `expect: {fail: "
                                                       "placement}` if the refusal is the point")
    if ok and vpc is not None:
        name = a.name or w.auto_name()
        w.live[name] = PaperVm(a.vpc, a.site or "", a.server, a.vcpus, a.mem_mb)
        w.gone.pop(name, None)


def _vm_ip(w: Paper, vpc, ip: str, path: tuple) -> Iterator[Problem]:
    try:
        addr = ipaddress.IPv4Address(ip)
    except ValueError:
        yield Problem(f"invalid IPv4 address {ip!r}", path=path, at_value=True,
                      hint="a bare IPv4 address, e.g. 10.1.100.20; the prefix length comes from the VPC's subnet")
        return
    if vpc is None:
        return
    subnet = vpc.subnet
    if subnet is None and vpc.sites:
        subnet = next((s.subnet for t in w.topo.tenants for s in t.sites if s.name == vpc.sites[0]), None)
    if subnet is None:
        return
    net = ipaddress.ip_network(subnet)
    if addr not in net or addr in (net.network_address, net.broadcast_address):
        yield Problem(f"address {ip} is not a host address of {vpc.name}'s subnet {net}", path=path,
                      hint=f"pick an address in {net}, or leave ip out to get one", at_value=True)
    elif addr == next(net.hosts()):
        owner = f"the LAN's gateway (the CE of {vpc.sites[0]})" if vpc.type == "vpls" else \
            "the VPC's gateway (its logical CE)"
        yield Problem(f"address {ip} is {owner}", path=path, at_value=True,
                      hint=f"the first address of {net} is the gateway; pick another, or leave ip out")


def run(w: World, a: Attach) -> tuple[list, str]:
    vm = w.cloud.attach(a.vpc, site=a.site, server=a.server, vcpus=a.vcpus, mem_mb=a.mem_mb, ip=a.ip,
                        mac=a.mac, name=a.name, policy=a.policy, near=a.near)
    phases = [{"name": k, "duration_ms": v} for k, v in vm["steps_ms"].items() if k != "total"]
    return phases, f"{vm['name']} on {vm['server']} ({vm['site']}) {vm['ip']} VLAN {vm['vlan']}"


def title(a: Attach, detail: str) -> str:
    return f"attach {a.name or detail.split(' ')[0] or a.vpc}"


KIND = StepKind("attach", Attach, paper, run, title)
