"""The parts of a running testbed's description, one dataclass per kind (see world/model.py).

Every part reads its dict from state.json with `from_dict` and writes the same dict back with
`to_dict`: field order is the key order `plan` has always written, and keys this code does not
know (a newer writer's) are kept in `extra` and written back after the known ones.  A field marked
`OMIT` is left out of the dict while it is None: it was never written in that case (a static
control has no `sessions`; a VXLAN VPN has no `vpn_labels`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Optional

OMIT = {"omit": True}


def _load(cls, d: dict, **nested):
    """`cls` from its dict: known keys become fields (`nested` turns some into parts first)."""
    names = {f.name for f in fields(cls)} - {"extra"}
    known = {k: nested[k](v) if k in nested else v for k, v in d.items() if k in names}
    return cls(**known, extra={k: v for k, v in d.items() if k not in names})


def _dump(part, **nested) -> dict:
    """The dict of a part: fields in order (OMIT ones only when set), then its extra keys."""
    out = {}
    for f in fields(part):
        if f.name == "extra":
            continue
        value = getattr(part, f.name)
        if value is None and f.metadata.get("omit"):
            continue
        out[f.name] = nested[f.name](value) if f.name in nested else value
    return {**out, **part.extra}


class Part:
    """from_dict / to_dict of a dataclass part (its last field `extra`); a part with parts in it overrides both."""

    @classmethod
    def from_dict(cls, d: dict):
        return _load(cls, d)

    def to_dict(self) -> dict:
        return _dump(self)


@dataclass
class Site(Part):
    """An enterprise site: its CE, LAN and access link into its PE's VRF for the tenant."""

    tenant: str
    pe: str
    vrf_node: str                  # namespace holding the tenant's VRF on that PE
    subnet: str
    gateway: str                   # the CE's LAN address, bare
    hosts: dict[str, str]          # host -> bare address
    access: dict[str, str]         # {"pe": a/30, "ce": a/30}: the access link's two ends
    routing: str = "static"        # bgp: the CE and the VRF exchange routes by eBGP (asn: the CE's)
    asn: Optional[int] = None
    bw: Optional[float] = None     # the access link as realized (reservations admit on bw)
    delay_ms: float = 0.0
    declared_delay_ms: Optional[float] = None
    loss: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass
class Server(Part):
    bridge: str
    vcpus: int
    mem_mb: int
    extra: dict = field(default_factory=dict)


@dataclass
class Cloud(Part):
    """A cloud site: OVS site switch, its servers' bridges, and the CE router's WAN link to its PE."""

    pe: str
    switch: str
    datapath: str
    ce: str
    wan: str                       # the CE router's WAN address, a/30
    servers: dict[str, Server]
    link: dict                     # the WAN link's declared properties (spec LinkProps)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "Cloud":
        return _load(cls, d, servers=lambda s: {n: Server.from_dict(m) for n, m in s.items()})

    def to_dict(self) -> dict:
        return _dump(self, servers=lambda s: {n: m.to_dict() for n, m in s.items()})


@dataclass
class Vpc(Part):
    """A VPC: declared in the topology or by `vpc create`; its planned VMs and ACL as spec dicts."""

    index: int                     # fixed at creation: VLAN and VNI allocation key off it
    tenant: str
    type: str                      # l3vpn | vpls
    subnet: Optional[str]
    sites: list[str]
    vlan: Optional[int]
    placement: str
    near: Optional[str] = None     # absent from VPCs that `vpc create` wrote before it kept it
    vms: list[dict] = field(default_factory=list)
    acl: Optional[dict] = None
    port_security: bool = False
    extra: dict = field(default_factory=dict)


@dataclass
class CoreLink(Part):
    a: str
    b: str
    a_addr: str
    b_addr: str
    bw: Optional[float] = None
    delay_ms: float = 0.0
    declared_delay_ms: Optional[float] = None
    loss: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass
class Internet(Part):
    node: str
    address: str                   # the Internet node's address, a/len
    pe: str
    extra: dict = field(default_factory=dict)


@dataclass
class Vrf(Part):
    """Where a tenant's logical router on a PE lives (plan/routers.py's Placement, as data)."""

    pe: str
    tenant: str
    node: str
    master: Optional[str]          # VRF device (kernel VRF), else None
    table: Optional[int]
    extra: dict = field(default_factory=dict)


@dataclass
class Vpn(Part):
    """A tenant's VPN across PEs: VXLAN (vni, transit PE -> a/24) or MPLS (vpn_labels PE -> label, the
    planner's static labels; or vpnv4 PE -> route distinguisher, where bgpd allocates the labels)."""

    core: str
    vni: Optional[int] = field(default=None, metadata=OMIT)
    transit: Optional[dict[str, str]] = field(default=None, metadata=OMIT)
    vpn_labels: Optional[dict[str, int]] = field(default=None, metadata=OMIT)
    vpnv4: Optional[dict[str, str]] = field(default=None, metadata=OMIT)
    extra: dict = field(default_factory=dict)


@dataclass
class Underlay(Part):
    """Provider routers as planned: indices, loopbacks, pools, next hops ([[from, to, hop], ...])."""

    index: dict[str, int]
    pe_index: dict[str, int]
    loopback: dict[str, str]
    pools: dict[str, str]
    next_hop: list
    extra: dict = field(default_factory=dict)

    def p_routers(self) -> list[str]:
        """Provider routers that are not PEs, in index order."""
        return [r for r in self.index if r not in self.pe_index]


@dataclass
class Control(Part):
    """The provider's own routing: `static`, or `bgp` with what FRR must converge to."""

    realization: str
    asn: Optional[int] = field(default=None, metadata=OMIT)
    igp: Optional[str] = field(default=None, metadata=OMIT)
    reflectors: Optional[list[str]] = field(default=None, metadata=OMIT)
    sessions: Optional[dict[str, list[str]]] = field(default=None, metadata=OMIT)
    bgp_routes: Optional[dict[str, list[str]]] = field(default=None, metadata=OMIT)
    routes: Optional[dict[str, list[str]]] = field(default=None, metadata=OMIT)
    daemons: Optional[list[str]] = field(default=None, metadata=OMIT)
    vrfs: Optional[list[str]] = field(default=None, metadata=OMIT)        # tenant VRFs with their own FRR
    vrf_daemons: Optional[list[str]] = field(default=None, metadata=OMIT)
    # VPNv4 (MPLS core): PE -> VRF device -> prefixes its kernel table must route with a label stack
    vrf_tables: Optional[dict[str, dict[str, list[str]]]] = field(default=None, metadata=OMIT)
    extra: dict = field(default_factory=dict)

