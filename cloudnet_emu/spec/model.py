"""The typed topology model (pydantic): what a topology file may say.

Structure, ranges and formats are checked here; relations between objects
(references, overlaps, uniqueness) are checked in `checks.py`.  Names of nodes
become parts of interface names, so they are short: see `naming.py`.

    provider:  PE and P routers, core links, address pools
    internet:  one public node attached to a PE's global table
    tenants:   enterprises, each with sites (a CE router + LAN hosts + subnet)
    cloud_sites: data centers: servers with capacity, a site switch attached to a PE
    vpcs:      a tenant's virtual private cloud: l3vpn or vpls, address plan, joined sites
"""
from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal, Optional, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictInt, field_validator, model_validator

from ..acl.model import Acl
from ..naming import MAX_NAME

NAME_RE = r"^[a-z][a-z0-9-]*$"

Name = Annotated[str, Field(pattern=NAME_RE, max_length=MAX_NAME,
                            description=f"lower-case letters, digits, '-'; at most {MAX_NAME} characters")]
TestbedName = Annotated[str, Field(pattern=NAME_RE, max_length=24)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


def _network(value: str) -> str:
    try:
        net = ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise ValueError(f"invalid CIDR {value!r}: not an IPv4 network") from None
        raise ValueError(f"{value!r} has host bits set; the network is {loose}") from None
    if net.version != 4:
        raise ValueError(f"{value!r}: only IPv4 address plans are supported")
    return str(net)


def _address(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        raise ValueError(f"invalid IPv4 address {value!r}") from None


DELAY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s)?\s*$")


class LinkProps(Strict):
    """Shaping of one link. bw in Mbit/s (HTB/TBF), delay and loss need netem."""

    bw: Optional[float] = Field(None, gt=0, description="bandwidth, Mbit/s")
    delay: Optional[str] = Field(None, description="one-way delay, e.g. '5ms'")
    loss: Optional[float] = Field(None, ge=0, le=100, description="loss, percent")

    @field_validator("delay", mode="before")
    @classmethod
    def _delay(cls, v):
        if v is None:
            return v
        if isinstance(v, bool):
            raise ValueError(f"invalid delay {v!r}: write a number with us, ms or s, e.g. '5ms'")
        if isinstance(v, (int, float)):
            v = f"{v}ms"
        m = DELAY_RE.match(str(v))
        if not m:
            raise ValueError(f"invalid delay {v!r}: write a number with us, ms or s, e.g. '5ms'")
        return f"{m.group(1)}{m.group(2) or 'ms'}"

    @property
    def delay_ms(self) -> float:
        if not self.delay:
            return 0.0
        m = DELAY_RE.match(self.delay)
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2) or "ms"]

    @property
    def empty(self) -> bool:
        return self.bw is None and not self.delay and not self.loss


class Router(Strict):
    name: Name
    role: Literal["pe", "p"]


class CoreLink(LinkProps):
    endpoints: list[Name] = Field(description="the two routers this link joins")


class Pools(Strict):
    """Provider address space (RFC 6598 shared space by default): never a tenant's."""

    loopbacks: str = "100.127.255.0/24"
    core: str = "100.64.0.0/16"
    access: str = "100.65.0.0/16"
    transit: str = "100.66.0.0/16"

    _cidr = field_validator("loopbacks", "core", "access", "transit")(classmethod(lambda cls, v: _network(v)))


class Provider(Strict):
    asn: int = Field(65000, ge=1, le=4294967295)
    routers: list[Router] = Field(min_length=1)
    links: list[CoreLink] = []
    pools: Pools = Pools()
    control: Optional[Literal["static", "bgp"]] = Field(
        None, description="the provider's own control plane: static (planner-written shortest paths, the "
                          "default) or bgp (FRR: OSPF core, iBGP to route reflectors); --realize control=... wins")
    reflectors: Optional[list[Name]] = Field(
        None, description="routers that reflect iBGP under control bgp (default: the P routers, or the first PE "
                          "where there is none); [] for none: the PEs peer in a full mesh")


class Internet(Strict):
    name: Name = "inet"
    pe: Name
    prefix: str = "198.51.100.0/24"
    link: LinkProps = LinkProps()

    _cidr = field_validator("prefix")(classmethod(lambda cls, v: _network(v)))


class Host(Strict):
    name: Name
    ip: Optional[str] = None

    _ip = field_validator("ip")(classmethod(lambda cls, v: v if v is None else _address(v)))


class Site(Strict):
    """An enterprise site: a CE router (named after the site), a LAN and its hosts."""

    name: Name
    pe: Name
    subnet: str
    hosts: list[Host] = []
    link: LinkProps = LinkProps()
    routing: Literal["static", "bgp"] = Field(
        "static", description="how the CE and its PE's VRF learn each other's routes: static (planner-written) "
                              "or bgp (eBGP between FRR on the CE, AS 65001 + the site's index, and the VRF's own "
                              "BGP; needs control bgp with VRFs as namespaces)")

    _cidr = field_validator("subnet")(classmethod(lambda cls, v: _network(v)))


class Tenant(Strict):
    name: Name
    sites: list[Site] = Field(min_length=1)


class Server(Strict):
    name: Name
    vcpus: StrictInt = Field(gt=0)
    mem_mb: StrictInt = Field(gt=0)


class CloudSite(Strict):
    """A cloud data center: servers and one site switch (Open vSwitch) uplinked to a PE."""

    name: Name
    pe: Name
    servers: list[Server] = Field(min_length=1)
    link: LinkProps = LinkProps()


MAC_RE = r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$"


class Vm(Strict):
    """A VM to attach at `up` (the same four steps as `cloudnet-emu vm attach`)."""

    name: Name
    site: Name = Field(description="cloud site")
    server: Optional[Name] = Field(None, description="pin to this server (default: the VPC's placement policy)")
    vcpus: StrictInt = Field(1, gt=0)
    mem_mb: StrictInt = Field(512, gt=0)
    ip: Optional[str] = None
    mac: Optional[str] = Field(None, pattern=MAC_RE, description="lower-case aa:bb:cc:dd:ee:ff")

    _ip = field_validator("ip")(classmethod(lambda cls, v: v if v is None else _address(v)))


# the placement policies, kept once: the files' and the scenarios' schema, the CLI's choices, the Cloud Manager
Policy = Literal["first-fit", "best-fit", "worst-fit", "nearest"]
POLICIES = get_args(Policy)


class Vpc(Strict):
    name: Name
    tenant: Name
    type: Literal["l3vpn", "vpls"]
    subnet: Optional[str] = Field(None, description="address plan; for vpls defaults to the joined site's subnet")
    sites: list[Name] = Field([], description="enterprise sites of the tenant this VPC joins")
    vlan: Optional[int] = Field(None, ge=1, le=4094, description="802.1Q VLAN id in cloud sites (default: allocated)")
    placement: Policy = "first-fit"
    near: Optional[Name] = Field(None, description="placement `nearest`: the enterprise site whose declared WAN "
                                                   "delay to the cloud site is minimized (default: the first of sites)")
    vms: list[Vm] = []
    acl: Optional[Acl] = Field(None, description="access rules inside the VPC (l3vpn): see acl/model.py")
    port_security: bool = Field(False, description="a VM's port accepts only its own MAC, and ARP/IPv4 only from its "
                                                   "own address (OpenFlow rules on its server bridge)")

    _cidr = field_validator("subnet")(classmethod(lambda cls, v: v if v is None else _network(v)))


class Reservation(Strict):
    """Bandwidth set aside on the provider's links (the Network Manager admits it at `up`)."""

    name: Name
    vpc: Name
    between: Optional[list[Name]] = Field(None, min_length=2, max_length=2,
                                          description="pipe: two endpoints (VMs, hosts or enterprise sites of the VPC)")
    bw: Optional[float] = Field(None, gt=0, description="pipe: Mbit/s each way")
    site: Optional[Name] = Field(None, description="hose: an enterprise site the VPC joins")
    ingress: Optional[float] = Field(None, ge=0, description="hose: Mbit/s into the site")
    egress: Optional[float] = Field(None, ge=0, description="hose: Mbit/s out of the site")

    @model_validator(mode="after")
    def _shape(self):
        if self.between is not None or self.bw is not None:
            if self.between is None or self.bw is None or self.site is not None:
                raise ValueError("a pipe reservation has `between: [A, B]` and `bw`, and no `site`")
        elif self.site is None or not (self.ingress or self.egress):
            raise ValueError("a reservation is a pipe (`between: [A, B]`, `bw`) or a hose (`site`, `ingress` "
                             "and/or `egress`)")
        return self

    def spec(self) -> dict:
        return self.model_dump(exclude={"name", "vpc"}, exclude_none=True)


class Topology(Strict):
    """A cloudnet-emu topology: the world of the paper's Figure 1."""

    name: TestbedName
    provider: Provider
    internet: Optional[Internet] = None
    tenants: list[Tenant] = []
    cloud_sites: list[CloudSite] = []
    vpcs: list[Vpc] = []
    reservations: list[Reservation] = []
    # where it was read from: a problem found later (a realization this machine cannot give a field
    # it asks for) still names file and line (spec/load.py:place)
    _source: str = PrivateAttr("<input>")
    _positions: dict = PrivateAttr(default_factory=dict)
