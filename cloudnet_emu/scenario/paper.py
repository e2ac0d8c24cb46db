"""The testbed on paper: what the steps so far leave it as (relations.py replays them), and the
references every kind's paper check makes to it (a VM attached at this step, a cloud site, a server,
a node or address, room on a server).  Each yields Problems with the data path of the value."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Iterator, Optional

from ..errors import Problem
from ..managers import rules
from ..spec.checks import _ref_hint, node_names
from ..spec.model import Topology

# Names the scenario language gives a meaning of its own.
RESERVED_VM_NAMES = {"root": "`root` means the root namespace in checks"}


@dataclass
class PaperVm:
    vpc: str
    site: str
    server: Optional[str]
    vcpus: int
    mem_mb: int


@dataclass
class Paper:
    """The testbed as the steps so far leave it (on paper)."""

    topo: Topology
    live: dict = field(default_factory=dict)          # VM name -> PaperVm
    gone: dict = field(default_factory=dict)          # VM name -> step index of its detach
    sniffed: dict = field(default_factory=dict)       # VM name -> places sniffed at its last migration
    tcp: set = field(default_factory=set)             # VMs whose last migration held a TCP connection

    def __post_init__(self):
        self.nodes = {n for n, _ in node_names(self.topo)} - {vm.name for v in self.topo.vpcs for vm in v.vms}
        self.vpcs = {v.name: v for v in self.topo.vpcs}
        self.clouds = {c.name: c for c in self.topo.cloud_sites}
        self.sites = {s.name: t.name for t in self.topo.tenants for s in t.sites}
        self.tenants = {t.name for t in self.topo.tenants}
        self.links = {frozenset(link.endpoints) for link in self.topo.provider.links}
        self.links |= {frozenset((s.name, s.pe)) for t in self.topo.tenants for s in t.sites}
        self.links |= {frozenset((c.name, c.pe)) for c in self.topo.cloud_sites}
        if self.topo.internet:
            self.links.add(frozenset((self.topo.internet.name, self.topo.internet.pe)))
        for vpc in self.topo.vpcs:
            for vm in vpc.vms:
                self.live[vm.name] = PaperVm(vpc.name, vm.site, vm.server, vm.vcpus, vm.mem_mb)

    def auto_name(self) -> str:
        """The name the Cloud Manager gives an unnamed VM (its rule, managers/rules.py)."""
        return rules.vm_name(self.nodes | set(self.live))


def vm_ref(w: Paper, name: str, path: tuple, what: str) -> Iterator[Problem]:
    """A step that acts on a VM: it must be attached (and not yet detached) at this point."""
    if name in w.live:
        return
    if name in w.gone:
        yield Problem(f"VM {name!r} was detached by steps.{w.gone[name]}; it cannot {what} after that",
                      path=path, hint="move this step before the detach, or attach the VM again", at_value=True)
    elif name in w.nodes:
        yield Problem(f"{name!r} is a node of the topology, not a VM", path=path,
                      hint=f"only VMs can {what}; VMs at this step: {', '.join(sorted(w.live)) or 'none'}", at_value=True)
    else:
        yield Problem(f"VM {name!r} is not attached by an earlier step", path=path, at_value=True,
                      hint=_ref_hint(name, w.live, "VMs at this step") + "; name VMs with attach: {name: ...}")


def cloud_ref(w: Paper, site: str, path: tuple) -> Iterator[Problem]:
    if site in w.clouds:
        return
    if site in w.sites:
        yield Problem(f"{site!r} is an enterprise site of tenant {w.sites[site]!r}, not a cloud site", path=path,
                      hint=f"VMs live in cloud sites: {', '.join(sorted(w.clouds)) or 'none'}", at_value=True)
    else:
        yield Problem(f"unknown cloud site {site!r}", path=path, hint=_ref_hint(site, w.clouds, "cloud sites"),
                      at_value=True)


def server_ref(w: Paper, site: Optional[str], server: str, path: tuple) -> Iterator[Problem]:
    owner = {s.name: c.name for c in w.topo.cloud_sites for s in c.servers}
    if server not in owner:
        yield Problem(f"unknown server {server!r}", path=path, hint=_ref_hint(server, owner, "servers"),
                      at_value=True)
    elif site is not None and site in w.clouds and owner[server] != site:
        yield Problem(f"server {server!r} is in cloud site {owner[server]!r}, not {site!r}", path=path,
                      hint=_ref_hint(server, [s.name for s in w.clouds[site].servers], f"servers of {site}"),
                      at_value=True)


def fits(w: Paper, site: str, server: Optional[str], vcpus: int, mem_mb: int, path: tuple,
          who: str) -> Iterator[Problem]:
    servers = [s for s in w.clouds[site].servers if server in (None, s.name)]
    if not servers or any(rules.fits((s.vcpus, s.mem_mb), vcpus, mem_mb) for s in servers):
        return
    where = f"server {server}" if server else f"any server of {site}"
    sizes = ", ".join(f"{s.name} {s.vcpus} vCPU/{s.mem_mb} MB" for s in servers)
    yield Problem(f"{who} ({vcpus} vCPU, {mem_mb} MB) does not fit {where} (declared: {sizes})", path=path,
                  hint="make the VM smaller, pick a site with larger servers, or mark the step "
                       "`expect: {fail: placement}` if the refusal is the point")


def is_address(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False


def known(w: Paper, name: str, path: tuple) -> Iterator[Problem]:
    """A node, a VM attached at this point, `root` (root namespace), or an address."""
    if name in w.nodes or name in w.live or name == "root" or is_address(name):
        return
    if name in w.gone:
        yield Problem(f"VM {name!r} was detached by steps.{w.gone[name]}", path=path, at_value=True,
                      hint="use it before the detach, or attach it again")
        return
    yield Problem(f"unknown node or VM {name!r}", path=path, at_value=True,
                  hint=_ref_hint(name, w.nodes | set(w.live), "nodes and VMs at this step"))


def ends(w: Paper, body, at: tuple) -> Iterator[Problem]:
    """`from:` and `to:` of a flow-like check (flow, throughput, latency), and of its competing flow."""
    yield from known(w, body.src, at + ("from",))
    yield from known(w, body.to, at + ("to",))
    competing = getattr(body, "competing", None)
    if competing is not None:
        yield from known(w, competing.src, at + ("competing", "from"))
        yield from known(w, competing.to, at + ("competing", "to"))
