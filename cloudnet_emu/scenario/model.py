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
from typing import Any, Iterator, Literal, Optional, Union

from pydantic import ConfigDict, Field, StrictInt, model_validator

from ..acl.model import AclStep, Flow
from ..errors import AdmissionError, PlacementError, Problem, SpecError, StateError
from ..spec.model import Name, Strict, TestbedName
from .qos import LatencyCheck, ReserveStep, ThroughputCheck

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


class AttackCheck(Strict):
    cases: Optional[list[Literal["label_spoof", "tunnel_inject", "sweep", "overlap", "vrf_fallthrough", "vlan_hop",
                                 "arp_spoof", "mac_flap", "reconverge"]]] = Field(
        None, description="attack cases to run (cloudnet-emu attack); default all; passes iff every case passed (not checked cases are counted apart)")


KINDS = ("reach", "isolated", "encap", "route", "fdb", "garp", "tcp", "flow", "throughput", "latency", "attack")


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
    attack: Optional[AttackCheck] = None
    throughput: Optional[ThroughputCheck] = None
    latency: Optional[LatencyCheck] = None
    flow: Optional[Flow] = None

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
    policy: Optional[Literal["first-fit", "best-fit", "worst-fit", "nearest"]] = None
    near: Optional[Name] = Field(None, description="policy nearest: the enterprise site to be near to")


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


# The refusals a step may expect (`expect: {fail: KIND}`): the one list of kinds, each the exception
# the code raises on purpose for it.  Any other outcome of such a step (success, another exception,
# a crash) is red.
REFUSALS = {
    "placement": PlacementError,    # the Cloud Manager found no place (capacity, a taken name/address/MAC)
    "admission": AdmissionError,    # a bandwidth reservation does not fit on its path
    "state": StateError,            # the testbed has no such thing: a VM, a reservation, a VPC endpoint
    "spec": SpecError,              # a request the managers reject at validation (e.g. an acl step's rules)
}


ACTIONS = ("attach", "detach", "migrate", "link", "wait", "check", "ovs", "reserve", "acl")


class Step(Strict):
    name: Optional[str] = None
    expect: Any = Field("pass", description="pass, or {fail: KIND}: the step is meant to be refused with that "
                                            "refusal (REFUSALS); checked with its position in checks.py")
    attach: Optional[Attach] = None
    detach: Optional[Detach] = None
    migrate: Optional[Migrate] = None
    link: Optional[Link] = None
    wait: Optional[float] = Field(None, ge=0, le=600, description="seconds")
    check: Optional[Check] = None
    reserve: Optional[ReserveStep] = None
    acl: Optional[AclStep] = Field(None, description="replace a VPC's access rules (acl/model.py)")
    ovs: Optional[Literal["restart"]] = Field(None, description="restart: ovs-vswitchd alone (a fault; ovsdb-server "
                                              "and every bridge, port and VLAN tag stay)")

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

    @property
    def refusal(self) -> Optional[str]:
        """The refusal kind an `expect: {fail: KIND}` step expects (None for `expect: pass`)."""
        return self.expect.get("fail") if isinstance(self.expect, dict) else None

    @property
    def negative(self) -> bool:
        """A negative control: meant to be refused (or, for a check step, meant to fail)."""
        return self.expect != "pass" or (self.check is not None and self.check.expect == "fail")

    @property
    def expect_text(self) -> str:
        return f"fail: {self.refusal}" if self.refusal else str(self.expect)


class Scenario(Strict):
    name: TestbedName
    description: Optional[str] = None
    topology: str = Field(description="topology file, relative to the scenario file")
    realize: Optional[str] = Field(None, description="force realizations, e.g. router=netns,core=vxlan")
    degrade: bool = Field(True, description="build without what the kernel lacks (recorded in the report)")
    steps: list[Step] = []
    checks: list[Check] = []


def relations(sc: Scenario, file: str) -> Iterator[Problem]:
    """References to the topology: VPCs, sites, nodes, links; VMs attached before use (scenario/checks.py)."""
    from .checks import scenario_problems
    yield from scenario_problems(sc, file)


def load_scenario(path) -> Scenario:
    from ..spec.bounds import read_spec
    from ..spec.load import parse_document
    path = Path(path)
    return parse_document(read_spec(path), str(path), Scenario, lambda sc: relations(sc, str(path)),
                          "a scenario file is a mapping (name:, topology:, steps: ...)", "scenarios/attach.yaml")
