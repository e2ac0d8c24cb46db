"""Relations of a scenario to its topology, checked before anything is built.

The steps are replayed on paper, in order, against the topology: which VMs exist
(the topology's own and those attach steps named), where each one is (site, server),
which were detached, which migrated with sniffers or a TCP connection.  Every
reference is checked against that state at its step, so a typo, a VM used after its
detach or a migration to a site that cannot hold the VM is reported with the data
path of the offending value (`load.py` turns it into FILE:LINE:COL).

Steps marked `expect: {fail: KIND}` are negative controls: an attach or migration that is
meant to be refused (with that refusal, model.REFUSALS) is not reported (and changes
nothing), but names in them must still exist.  A plain `expect: fail` on a step is refused:
it would pass on any error whatsoever.  Capacity is the declared capacity of the servers (no bookkeeping of
what earlier steps use: the Cloud Manager refuses that at run time).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import Iterator, Optional

from ..errors import Problem, SpecError
from ..spec.checks import _ref_hint, node_names
from ..spec.model import MAC_RE, Topology

# Names the scenario language gives a meaning of its own.
RESERVED_VM_NAMES = {"root": "`root` means the root namespace in checks"}


@dataclass
class _Vm:
    vpc: str
    site: str
    server: Optional[str]
    vcpus: int
    mem_mb: int


@dataclass
class _World:
    """The testbed as the steps so far leave it (on paper)."""

    topo: Topology
    live: dict = field(default_factory=dict)          # VM name -> _Vm
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
                self.live[vm.name] = _Vm(vpc.name, vm.site, vm.server, vm.vcpus, vm.mem_mb)

    def auto_name(self) -> str:
        """The name the Cloud Manager gives an unnamed VM: the first free vmN."""
        taken = self.nodes | set(self.live)
        return next(f"vm{i}" for i in range(1, 100000) if f"vm{i}" not in taken)


def scenario_problems(sc, file: str) -> Iterator[Problem]:
    if sc.realize:
        yield from _realize(sc.realize)
    topo_path = Path(file).parent / sc.topology
    try:
        mode = topo_path.stat().st_mode
        what = None if S_ISREG(mode) else "is a directory" if S_ISDIR(mode) else "is not a regular file"
    except FileNotFoundError:
        what = "not found"
    except OSError as exc:              # a name too long, a loop of links, no permission ...
        what = f"cannot be read ({exc.strerror})"
    if what:
        yield Problem(f"topology file {sc.topology!r} {what} (looked at {topo_path})", path=("topology",),
                      hint="the path is relative to the scenario file", at_value=True)
        return
    from ..spec.load import load_topology
    try:
        topo = load_topology(topo_path)
    except SpecError as exc:
        first = exc.problems[0]
        where = f"{first.file}:{first.line}:{first.col}" if first.line else first.file
        yield Problem(f"topology {sc.topology} has {len(exc.problems)} problem(s), the first: {where}: "
                      f"{first.message}", path=("topology",), at_value=True,
                      hint=f"run `cloudnet-emu validate {topo_path}` and fix them")
        return
    w = _World(topo)
    for i, step in enumerate(sc.steps):
        path = ("steps", i)
        ok = step.expect == "pass"
        yield from _step_expect(step, path)
        if step.attach:
            yield from _attach(w, step.attach, path + ("attach",), ok)
        elif step.detach:
            yield from _detach(w, step.detach.vm, path + ("detach", "vm"), i, ok)
        elif step.migrate:
            yield from _migrate(w, step.migrate, path + ("migrate",), ok)
        elif step.link:
            ends = step.link.endpoints
            for k, end in enumerate(ends):
                if end not in w.nodes:
                    yield Problem(f"unknown node {end!r} in link", path=path + ("link", "endpoints", k),
                                  hint=_ref_hint(end, w.nodes, "nodes"), at_value=True)
            if set(ends) <= w.nodes and frozenset(ends) not in w.links:
                yield Problem(f"no link {ends[0]} -- {ends[1]} in the topology", path=path + ("link", "endpoints"),
                              hint="name the two ends of a core, access or cloud uplink link")
        elif step.check:
            yield from _check(w, step.check, path + ("check",))
        elif step.acl:
            from ..acl.checks import scenario_problems as acl_problems
            yield from acl_problems(w.topo, step.acl, set(w.live), path + ("acl",))
        elif step.reserve:
            yield from _reserve(w, step.reserve, path + ("reserve",), ok)
    for i, c in enumerate(sc.checks):
        yield from _check(w, c, ("checks", i))


def _step_expect(step, path: tuple) -> Iterator[Problem]:
    """`expect:` of a step: pass, or {fail: KIND} naming one refusal (a check says expect: inside it)."""
    from .model import REFUSALS
    kinds = ", ".join(REFUSALS)
    e, at = step.expect, path + ("expect",)
    if e == "pass":
        return
    if step.check is not None:
        yield Problem("a check step says `expect:` inside its check, not beside it", path=at,
                      hint="move it into the check: check: {expect: fail, ...}", at_value=True)
    elif e == "fail":
        yield Problem("`expect: fail` on a step would pass on any error whatsoever", path=at,
                      at_value=True, hint=f"say which refusal: expect: {{fail: placement}} (refusals: {kinds})")
    elif not isinstance(e, dict):
        yield Problem(f"expect is pass or {{fail: KIND}}, got {e!r}", path=at, at_value=True,
                      hint=f"write expect: pass, or expect: {{fail: KIND}} with KIND one of {kinds}")
    else:
        for key in e:
            if key != "fail":
                yield Problem(f"unknown key {key!r} in expect", path=at + (key,),
                              hint=f"expect: {{fail: KIND}} has the one key fail ({kinds})")
        if "fail" not in e:
            yield Problem("expect: {...} names no refusal", path=at, at_value=True,
                          hint=f"write expect: {{fail: KIND}} with KIND one of {kinds}")
        elif e["fail"] not in REFUSALS:
            yield Problem(f"unknown refusal {e['fail']!r}", path=at + ("fail",), at_value=True,
                          hint=_ref_hint(str(e["fail"]), REFUSALS, "refusals"))


def _realize(text: str) -> Iterator[Problem]:
    from ..plan.choose import parse_forced
    try:
        parse_forced(text)
    except SpecError as exc:
        for p in exc.problems:
            yield Problem(p.message.replace(" in --realize", ""), path=("realize",), hint=p.hint, at_value=True)


def _vm_ref(w: _World, name: str, path: tuple, what: str) -> Iterator[Problem]:
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


def _cloud_ref(w: _World, site: str, path: tuple) -> Iterator[Problem]:
    if site in w.clouds:
        return
    if site in w.sites:
        yield Problem(f"{site!r} is an enterprise site of tenant {w.sites[site]!r}, not a cloud site", path=path,
                      hint=f"VMs live in cloud sites: {', '.join(sorted(w.clouds)) or 'none'}", at_value=True)
    else:
        yield Problem(f"unknown cloud site {site!r}", path=path, hint=_ref_hint(site, w.clouds, "cloud sites"),
                      at_value=True)


def _server_ref(w: _World, site: Optional[str], server: str, path: tuple) -> Iterator[Problem]:
    owner = {s.name: c.name for c in w.topo.cloud_sites for s in c.servers}
    if server not in owner:
        yield Problem(f"unknown server {server!r}", path=path, hint=_ref_hint(server, owner, "servers"),
                      at_value=True)
    elif site is not None and site in w.clouds and owner[server] != site:
        yield Problem(f"server {server!r} is in cloud site {owner[server]!r}, not {site!r}", path=path,
                      hint=_ref_hint(server, [s.name for s in w.clouds[site].servers], f"servers of {site}"),
                      at_value=True)


def _fits(w: _World, site: str, server: Optional[str], vcpus: int, mem_mb: int, path: tuple,
          who: str) -> Iterator[Problem]:
    servers = [s for s in w.clouds[site].servers if server in (None, s.name)]
    if not servers or any(s.vcpus >= vcpus and s.mem_mb >= mem_mb for s in servers):
        return
    where = f"server {server}" if server else f"any server of {site}"
    sizes = ", ".join(f"{s.name} {s.vcpus} vCPU/{s.mem_mb} MB" for s in servers)
    yield Problem(f"{who} ({vcpus} vCPU, {mem_mb} MB) does not fit {where} (declared: {sizes})", path=path,
                  hint="make the VM smaller, pick a site with larger servers, or mark the step "
                       "`expect: {fail: placement}` if the refusal is the point")


def _attach(w: _World, a, path: tuple, ok: bool) -> Iterator[Problem]:
    vpc = w.vpcs.get(a.vpc)
    if vpc is None:
        yield Problem(f"unknown VPC {a.vpc!r}", path=path + ("vpc",), hint=_ref_hint(a.vpc, w.vpcs, "VPCs"),
                      at_value=True)
    site_ok = a.site is None or a.site in w.clouds
    if a.site is not None:
        yield from _cloud_ref(w, a.site, path + ("site",))
    if a.server is not None:
        bad = list(_server_ref(w, a.site, a.server, path + ("server",)))
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
            yield from _fits(w, site, a.server, a.vcpus, a.mem_mb, path + ("mem_mb" if cpus_fit else "vcpus",),
                             "the VM")
        elif w.clouds and all(list(_fits(w, s, None, a.vcpus, a.mem_mb, path, "")) for s in w.clouds):
            yield Problem(f"the VM ({a.vcpus} vCPU, {a.mem_mb} MB) does not fit any server of any cloud site",
                          path=path + ("vcpus",), hint="make the VM smaller, or mark the step `expect: {fail: "
                                                       "placement}` if the refusal is the point")
    if ok and vpc is not None:
        name = a.name or w.auto_name()
        w.live[name] = _Vm(a.vpc, a.site or "", a.server, a.vcpus, a.mem_mb)
        w.gone.pop(name, None)


def _vm_ip(w: _World, vpc, ip: str, path: tuple) -> Iterator[Problem]:
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


def _detach(w: _World, name: str, path: tuple, i: int, ok: bool) -> Iterator[Problem]:
    if not ok:
        return
    yield from _vm_ref(w, name, path, "be detached")
    if name in w.live:
        del w.live[name]
        w.gone[name] = i
        w.sniffed.pop(name, None)
        w.tcp.discard(name)


def _migrate(w: _World, m, path: tuple, ok: bool) -> Iterator[Problem]:
    yield from _vm_ref(w, m.vm, path + ("vm",), "migrate")
    site, slash, server = m.to.partition("/")
    if not site or (slash and not server) or "/" in server:
        yield Problem(f"destination {m.to!r} is not SITE or SITE/SERVER", path=path + ("to",), at_value=True,
                      hint="write a cloud site (dc2) or a cloud site and one of its servers (dc2/dc2-s1)")
        return
    where = list(_cloud_ref(w, site, path + ("to",)))
    if server and not where:
        where = list(_server_ref(w, site, server, path + ("to",)))
    yield from where
    vm = w.live.get(m.vm)
    if vm is not None and not where and ok:
        if vm.site == site and (not server or server == vm.server):
            yield Problem(f"VM {m.vm!r} is already in {site}" + (f" on {server}" if server else ""),
                          path=path + ("to",), at_value=True, hint="name another cloud site or another server")
        else:
            yield from _fits(w, site, server or None, vm.vcpus, vm.mem_mb, path + ("to",), f"VM {m.vm!r}")
    for k, place in enumerate(m.sniff):
        if place not in w.clouds and place not in w.nodes:
            yield Problem(f"unknown place {place!r} to sniff at", path=path + ("sniff", k), at_value=True,
                          hint=_ref_hint(place, set(w.clouds) | w.nodes, "cloud sites, enterprise sites and nodes"))
    if m.probe:
        yield from _known(w, m.probe.src, path + ("probe", "from"))
    if m.tcp:
        yield from _known(w, m.tcp, path + ("tcp",))
    if vm is not None and ok:
        vm.site, vm.server = site, server or None
        w.sniffed[m.vm] = set(m.sniff)
        if m.tcp:
            w.tcp.add(m.vm)
        else:
            w.tcp.discard(m.vm)


def _is_address(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False


def _reserve(w: _World, r, path: tuple, ok: bool) -> Iterator[Problem]:
    """A reservation's VPC (l3vpn), its ends (VMs at this step, hosts or sites it joins), a hose's site."""
    if r.release:
        return
    if r.vpc is None and not r.change:
        yield Problem(f"reservation {r.name} names no vpc", path=path, hint="add vpc: (the VPC it is for)")
    vpc = w.vpcs.get(r.vpc) if r.vpc else None
    if r.vpc and vpc is None:
        yield Problem(f"unknown VPC {r.vpc!r}", path=path + ("vpc",), at_value=True,
                      hint=_ref_hint(r.vpc, w.vpcs, "VPCs"))
    elif vpc is not None and vpc.type != "l3vpn":
        yield Problem(f"VPC {r.vpc} is {vpc.type}: reservations are for l3vpn VPCs", path=path + ("vpc",),
                      at_value=True, hint="reserve on an l3vpn VPC")
    for k, end in enumerate(r.between or []):
        if ok or end in w.gone:
            yield from _known(w, end, path + ("between", k))
    if r.site is not None and vpc is not None and r.site not in vpc.sites:
        yield Problem(f"{r.site!r} is not an enterprise site of VPC {r.vpc}", path=path + ("site",), at_value=True,
                      hint=f"its sites: {', '.join(vpc.sites) or 'none'}")


def _known(w: _World, name: str, path: tuple) -> Iterator[Problem]:
    """A node, a VM attached at this point, `root` (root namespace), or an address."""
    if name in w.nodes or name in w.live or name == "root" or _is_address(name):
        return
    if name in w.gone:
        yield Problem(f"VM {name!r} was detached by steps.{w.gone[name]}", path=path, at_value=True,
                      hint="use it before the detach, or attach it again")
        return
    yield Problem(f"unknown node or VM {name!r}", path=path, at_value=True,
                  hint=_ref_hint(name, w.nodes | set(w.live), "nodes and VMs at this step"))


def _names(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def _check(w: _World, c, path: tuple) -> Iterator[Problem]:
    body = getattr(c, c.kind)
    at = path + (c.kind,)
    if c.kind in ("reach", "isolated"):
        for key, value in (("from", body.src), ("to", body.to)):
            many = not isinstance(value, str)
            for k, n in enumerate(_names(value)):
                yield from _known(w, n, at + ((key, k) if many else (key,)))
    elif c.kind == "encap":
        node, colon, iface = body.link.partition(":")
        if not colon or not iface:
            yield Problem(f"link {body.link!r} is not NODE:IFACE", path=at + ("link",), at_value=True,
                          hint="e.g. p1:pe3 (p1's interface toward pe3), or root:cnt-dc1-s1")
        else:
            yield from _known(w, node, at + ("link",))
        yield from _known(w, body.src, at + ("from",))
        yield from _known(w, body.to, at + ("to",))
        if body.vpn is not None and body.vpn not in w.tenants:
            yield Problem(f"unknown tenant {body.vpn!r}", path=at + ("vpn",), at_value=True,
                          hint=_ref_hint(body.vpn, w.tenants, "tenants"))
    elif c.kind == "route":
        yield from _known(w, body.node, at + ("node",))
        if body.vrf is not None and body.vrf not in w.tenants:
            yield Problem(f"unknown tenant {body.vrf!r} (vrf names a tenant)", path=at + ("vrf",), at_value=True,
                          hint=_ref_hint(body.vrf, w.tenants, "tenants"))
    elif c.kind == "fdb":
        if not re.match(MAC_RE, body.mac.lower()):
            yield from _vm_ref(w, body.mac, at + ("mac",), "be looked up in a forwarding table")
    elif c.kind == "garp":
        yield from _vm_ref(w, body.vm, at + ("vm",), "be checked")
        if body.vm in w.live and body.at not in w.sniffed.get(body.vm, ()):
            listened = ", ".join(sorted(w.sniffed.get(body.vm, ()))) or "nowhere"
            yield Problem(f"no sniffer listens at {body.at!r} during {body.vm}'s last migration (sniffed: "
                          f"{listened})", path=at + ("at",), at_value=True,
                          hint="add it to that migrate step's sniff: [...]; without one this check cannot pass")
    elif c.kind in ("flow", "throughput", "latency"):
        yield from _known(w, body.src, at + ("from",))
        yield from _known(w, body.to, at + ("to",))
        competing = getattr(body, "competing", None)
        if competing is not None:
            yield from _known(w, competing.src, at + ("competing", "from"))
            yield from _known(w, competing.to, at + ("competing", "to"))
    elif c.kind == "tcp":
        yield from _vm_ref(w, body.vm, at + ("vm",), "be checked")
        if body.vm in w.live and body.vm not in w.tcp:
            yield Problem(f"no TCP connection is held across {body.vm}'s last migration", path=at + ("vm",),
                          at_value=True, hint="give that migrate step tcp: NODE (the node at the other end)")
