"""What a scenario file may say (pydantic), and the relations checked before anything is built.

    name: attach
    topology: ../topologies/cloudnet.yaml      # relative to this file
    steps:
      - attach: {vpc: bravo-vpc, site: dc1, name: b1}
      - check: {reach: {from: b1, to: [bravo-h1, bravo-h3]}}
      - link: {endpoints: [pe3, p1], state: down}
      - detach: {vm: b1}
    checks:
      - isolated: {from: b1, to: [acme-h1, inet]}
      - encap: {link: "p1:pe3", vni: 10001, from: b1, to: bravo-h1}
        expect: pass
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Literal, Optional, Union

from pydantic import ConfigDict, Field, StrictInt, model_validator

from ..errors import Problem
from ..spec.model import Name, Strict, TestbedName

Targets = Union[str, list[str]]


class Pair(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    src: Targets = Field(alias="from", description="node or VM name(s)")
    to: Targets = Field(description="node or VM name(s), or addresses")


class Encap(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    link: str = Field(description="NODE:IFACE to capture on; root-namespace devices as root:IFACE")
    src: str = Field(alias="from")
    to: str
    vlan: Optional[StrictInt] = Field(None, ge=1, le=4094)
    vni: Optional[StrictInt] = None
    mpls: Optional[Union[bool, list[StrictInt]]] = None
    vpn: Optional[Name] = Field(None, description="a tenant: its L3VPN's encapsulation, whichever the core "
                                                 "realization (MPLS VPN labels or the VXLAN VNI)")


class RouteCheck(Strict):
    node: str
    dst: str
    vrf: Optional[str] = Field(None, description="the tenant whose VRF on `node` to look in")


class FdbCheck(Strict):
    bridge: str = Field(description="an OVS bridge (cnb-dc1), a cloud site (dc1), or NODE:BRIDGE for a Linux bridge")
    mac: str = Field(description="a MAC, or a VM name")
    port: Optional[str] = None


class GarpCheck(Strict):
    vm: Name
    at: str = Field(description="where the last migration's sniffers listened: a cloud or enterprise site, or a node")


class TcpCheck(Strict):
    vm: Name = Field(description="the TCP connection held across this VM's last migration still carries data")


KINDS = ("reach", "isolated", "encap", "route", "fdb", "garp", "tcp")


class Check(Strict):
    name: Optional[str] = None
    expect: Literal["pass", "fail"] = "pass"
    reach: Optional[Pair] = None
    isolated: Optional[Pair] = None
    encap: Optional[Encap] = None
    route: Optional[RouteCheck] = None
    fdb: Optional[FdbCheck] = None
    garp: Optional[GarpCheck] = None
    tcp: Optional[TcpCheck] = None

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a check has exactly one of {', '.join(KINDS)}; this one has "
                             f"{', '.join(given) or 'none'}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)


class Attach(Strict):
    vpc: Name
    site: Optional[Name] = None
    server: Optional[Name] = None
    vcpus: StrictInt = Field(1, gt=0)
    mem_mb: StrictInt = Field(512, gt=0)
    ip: Optional[str] = None
    mac: Optional[str] = None
    name: Optional[Name] = None
    policy: Optional[Literal["first-fit", "best-fit", "worst-fit"]] = None


class Detach(Strict):
    vm: Name


class Probe(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    src: str = Field(alias="from", description="the node that sends the probes (and gets the echoes)")
    rate: float = Field(1000, gt=0, le=20000, description="probes per second")
    before_s: float = Field(0.5, ge=0, le=60)
    after_s: float = Field(1.5, ge=0, le=60)


class Migrate(Strict):
    vm: Name
    to: str = Field(description="SITE or SITE/SERVER")
    pause_ms: float = Field(50, ge=0, le=60000)
    garp: bool = True
    probe: Optional[Probe] = None
    tcp: Optional[str] = Field(None, description="a node that holds a TCP connection to the VM across the move")
    sniff: list[str] = Field([], description="sites or nodes where gratuitous ARPs are sniffed (scapy)")


class Link(Strict):
    endpoints: list[Name] = Field(min_length=2, max_length=2)
    state: Literal["down", "up"]


ACTIONS = ("attach", "detach", "migrate", "link", "wait", "check")


class Step(Strict):
    name: Optional[str] = None
    expect: Literal["pass", "fail"] = "pass"
    attach: Optional[Attach] = None
    detach: Optional[Detach] = None
    migrate: Optional[Migrate] = None
    link: Optional[Link] = None
    wait: Optional[float] = Field(None, ge=0, le=600, description="seconds")
    check: Optional[Check] = None

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in ACTIONS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a step has exactly one of {', '.join(ACTIONS)}; this one has "
                             f"{', '.join(given) or 'none'}")
        return self

    @property
    def action(self) -> str:
        return next(k for k in ACTIONS if getattr(self, k) is not None)


class Scenario(Strict):
    name: TestbedName
    description: Optional[str] = None
    topology: str = Field(description="topology file, relative to the scenario file")
    realize: Optional[str] = Field(None, description="force realizations, e.g. router=netns,core=vxlan")
    degrade: bool = Field(True, description="build without what the kernel lacks (recorded in the report)")
    steps: list[Step] = []
    checks: list[Check] = []


def relations(sc: Scenario, file: str) -> Iterator[Problem]:
    """References to the topology: VPCs, sites, nodes, links; VMs must be attached before use."""
    from ..spec.load import load_topology
    from ..errors import SpecError
    from ..spec.checks import node_names

    topo_path = Path(file).parent / sc.topology
    if not topo_path.exists():
        yield Problem(f"topology file {sc.topology!r} not found (looked at {topo_path})", path=("topology",),
                      hint="the path is relative to the scenario file")
        return
    try:
        topo = load_topology(topo_path)
    except SpecError as exc:
        yield Problem(f"topology {sc.topology} has {len(exc.problems)} problem(s): run "
                      f"`cloudnet-emu validate {topo_path}`", path=("topology",), hint=exc.problems[0].format())
        return
    nodes = {n for n, _ in node_names(topo)}
    vpcs = {v.name for v in topo.vpcs}
    clouds = {c.name for c in topo.cloud_sites}
    links = {frozenset(link.endpoints) for link in topo.provider.links}
    links |= {frozenset((s.name, s.pe)) for t in topo.tenants for s in t.sites}
    if topo.internet:
        links.add(frozenset((topo.internet.name, topo.internet.pe)))
    vms = {vm.name for v in topo.vpcs for vm in v.vms}
    auto = 0

    def names(value):
        return [value] if isinstance(value, str) else list(value)

    def known(name: str, path: tuple) -> Iterator[Problem]:
        if name in nodes or name in vms or name == "root" or _is_address(name):
            return
        yield Problem(f"unknown node or VM {name!r}", path=path,
                      hint="name a node of the topology, or a VM attached by an earlier step")

    def check_refs(c: Check, path: tuple) -> Iterator[Problem]:
        body = getattr(c, c.kind)
        if c.kind in ("reach", "isolated"):
            for i, n in enumerate(names(body.src)):
                yield from known(n, path + (c.kind, "from"))
            for n in names(body.to):
                yield from known(n, path + (c.kind, "to"))
        elif c.kind == "encap":
            yield from known(body.link.split(":")[0], path + ("encap", "link"))
            yield from known(body.src, path + ("encap", "from"))
            yield from known(body.to, path + ("encap", "to"))
        elif c.kind == "route":
            yield from known(body.node, path + ("route", "node"))

    for i, step in enumerate(sc.steps):
        path = ("steps", i)
        if step.attach:
            if step.attach.vpc not in vpcs:
                yield Problem(f"unknown VPC {step.attach.vpc!r}", path=path + ("attach", "vpc"),
                              hint=f"VPCs of {sc.topology}: {', '.join(sorted(vpcs)) or 'none'}")
            if step.attach.site and step.attach.site not in clouds:
                yield Problem(f"unknown cloud site {step.attach.site!r}", path=path + ("attach", "site"),
                              hint=f"cloud sites: {', '.join(sorted(clouds))}")
            if step.attach.name:
                vms.add(step.attach.name)
            else:
                auto += 1
                vms.add(f"vm{auto}")
        elif step.detach:
            if step.detach.vm not in vms and step.expect == "pass":
                yield Problem(f"VM {step.detach.vm!r} is not attached by an earlier step", path=path + ("detach", "vm"),
                              hint="detach a VM that an attach step named (name: ...)")
        elif step.migrate:
            m = step.migrate
            if m.vm not in vms:
                yield Problem(f"VM {m.vm!r} is not attached by an earlier step", path=path + ("migrate", "vm"),
                              hint="migrate a VM that an attach step named (name: ...)")
            if m.to.split("/")[0] not in clouds:
                yield Problem(f"unknown cloud site {m.to.split('/')[0]!r}", path=path + ("migrate", "to"),
                              hint=f"cloud sites: {', '.join(sorted(clouds))}")
            for k, place in enumerate(m.sniff):
                if place not in clouds and place not in nodes:
                    yield Problem(f"unknown place {place!r} to sniff at", path=path + ("migrate", "sniff", k),
                                  hint="a cloud site, an enterprise site or a node")
            if m.probe:
                yield from known(m.probe.src, path + ("migrate", "probe", "from"))
        elif step.link:
            if frozenset(step.link.endpoints) not in links:
                yield Problem(f"no link {step.link.endpoints[0]} -- {step.link.endpoints[1]} in the topology",
                              path=path + ("link", "endpoints"), hint="name the two ends of a core or access link")
        elif step.check:
            yield from check_refs(step.check, path + ("check",))
    for i, c in enumerate(sc.checks):
        yield from check_refs(c, ("checks", i))


def _is_address(text: str) -> bool:
    import ipaddress
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False


def load_scenario(path) -> Scenario:
    from ..errors import SpecError
    from ..spec.load import parse_document
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError([Problem(f"cannot read file: {exc.strerror}", file=str(path), hint="check the path")]) from None
    return parse_document(text, str(path), Scenario, lambda sc: relations(sc, str(path)),
                          "a scenario file is a mapping (name:, topology:, steps: ...)", "scenarios/attach.yaml")
