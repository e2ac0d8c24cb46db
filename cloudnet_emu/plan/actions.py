"""The kernel vocabulary of a plan: plain data, one class per kind of object.

Every action names the node (hence the namespace) it lives in; `None` means the
root namespace (only OVS bridges and their ports live there).  The executor in
`realize/` applies them in plan order, idempotently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..world import World
from dataclasses import asdict


@dataclass(frozen=True)
class Node:
    name: str
    kind: str                  # pe | p | ce | host | internet | vrf (a logical router as a namespace)
    forwarding: bool = False
    mpls: bool = False         # accept MPLS on its interfaces (platform labels)
    loopback: Optional[str] = None   # a.b.c.d/32 on lo
    site: Optional[str] = None
    tenant: Optional[str] = None


@dataclass(frozen=True)
class Veth:
    a_node: str
    a_if: str
    b_node: Optional[str]      # None: the b end stays in the root namespace (an OVS port)
    b_if: str
    a_addr: Optional[str] = None
    b_addr: Optional[str] = None
    mtu: int = 1500
    role: str = "link"         # core | access | lan | internet | trunk | vrf | vm | handoff
    a_mac: Optional[str] = None
    proxy_arp: bool = False    # on the a end: answer ARP for addresses routed elsewhere
    tx_csum_off: bool = False  # both ends: an end is a port of the userspace datapath without TSO (choose.csum_off)


@dataclass(frozen=True)
class Bridge:
    node: str
    name: str
    addr: Optional[str] = None


@dataclass(frozen=True)
class Vrf:
    node: str
    name: str
    table: int


@dataclass(frozen=True)
class Enslave:
    node: str
    ifname: str
    master: str


@dataclass(frozen=True)
class Vxlan:
    """A VXLAN device created in `node` (its UDP socket stays there) and moved to `into`."""

    node: str
    name: str
    vni: int
    local: str
    into: str
    addr: Optional[str] = None
    master: Optional[str] = None
    port: int = 4789
    peers: tuple = ()          # remote VTEPs: head-end replication entries
    mac: Optional[str] = None  # fixed, so a rebuilt device keeps the MAC its peers' neighbour entries name
    learning: bool = True      # False: remote MACs come from a control plane (EVPN), not from traffic


@dataclass(frozen=True)
class FdbAppend:
    """One more remote VTEP for head-end replication on an existing VXLAN device."""

    node: str
    dev: str
    dst: str


@dataclass(frozen=True)
class Address:
    node: str
    ifname: str
    addr: str


@dataclass(frozen=True)
class Adopt:
    """Move a root-namespace interface (a hand-off cable) into `node`, renamed, addressed, enslaved."""

    node: str
    ifname: str                # its name in the root namespace
    name: str                  # its name in the node
    addr: Optional[str] = None
    master: Optional[str] = None


@dataclass(frozen=True)
class Route:
    node: str
    dst: str
    via: Optional[str] = None
    dev: Optional[str] = None
    table: Optional[int] = None
    kind: str = "unicast"      # unicast | unreachable
    labels: tuple = ()         # MPLS push, outermost first
    metric: Optional[int] = None


@dataclass(frozen=True)
class MplsRoute:
    """Incoming label -> swap to `out` (empty: pop) and forward via/dev."""

    node: str
    label: int
    out: tuple = ()
    via: Optional[str] = None
    dev: Optional[str] = None


@dataclass(frozen=True)
class OvsBridge:
    name: str
    datapath: str              # system | netdev
    role: str                  # site | server
    owner: str                 # site or server name


@dataclass(frozen=True)
class OvsPort:
    bridge: str
    name: str
    type: str = "system"       # system | patch
    peer: Optional[str] = None
    tag: Optional[int] = None  # access VLAN
    trunks: tuple = ()         # () with tag None: trunk of all VLANs
    ids: tuple = ()            # extra external_ids: (("vm", "web1"), ...)


@dataclass(frozen=True)
class Shape:
    """Egress shaping of one interface: HTB/TBF for bw, netem for delay/loss."""

    node: Optional[str]
    ifname: str
    bw: Optional[float] = None
    delay_ms: float = 0.0
    loss: float = 0.0


@dataclass(frozen=True)
class TcClass:
    """An HTB class under a shaped link's 1:1: a bandwidth reservation on one egress interface."""

    node: Optional[str]
    ifname: str
    classid: str               # "1:101"
    rate: float                # Mbit/s guaranteed
    ceil: float                # Mbit/s it may borrow up to
    delay_ms: float = 0.0      # the link's netem delay and loss, repeated under the class
    loss: float = 0.0


@dataclass(frozen=True)
class TcFilter:
    """A u32 classifier at a shaped link's root that sends matching packets to a class."""

    node: Optional[str]
    ifname: str
    prio: int
    protocol: str              # ip | mpls_uc
    match: tuple               # u32 argv: ("match", "u32", VALUE, MASK, "at", OFFSET, ...)
    flowid: str


@dataclass(frozen=True)
class FrrRouter:
    """The routing daemons of one provider router: ((daemon, its configuration text), ...),
    started in that order (plan/frr.py renders them, realize/frr.py runs them)."""

    node: str
    configs: tuple


@dataclass
class Plan:
    """Everything a testbed consists of, in build order, plus what was chosen and why."""

    testbed: str
    realizations: dict = field(default_factory=dict)   # construct -> name
    degradations: list = field(default_factory=list)   # human-readable
    nodes: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    world: World = field(default_factory=World)        # addresses, labels, VNIs: state.json's info

    @property
    def info(self) -> dict:
        """The world as state.json's `info` section (a fresh dict: write to `world`, not here)."""
        return self.world.to_info()

    def add(self, *actions):
        self.actions.extend(actions)

    def of(self, kind) -> list:
        return [a for a in self.actions if isinstance(a, kind)]

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)


@dataclass(frozen=True)
class OvsFlows:
    """OpenFlow rules on an OVS bridge, all carrying one cookie (undo deletes exactly that cookie's)."""

    bridge: str
    cookie: int
    flows: tuple               # ovs-ofctl add-flow texts, each with cookie=<cookie>


@dataclass(frozen=True)
class ForgetMac:
    """OVS bridges forget one learned MAC on the given (bridge, VLAN)s now, not when it ages out.
    Applied once (a detach); its undo is nothing: a MAC that speaks again is learned again."""

    places: tuple              # ((bridge, vlan), ...)
    mac: str


@dataclass(frozen=True)
class FdbForget:
    """A Linux bridge in `node` forgets one MAC (every entry of it on any port). Applied once, no undo."""

    node: str
    bridge: str
    mac: str


@dataclass(frozen=True)
class BestEffort:
    """A shaped link's best-effort class gets RATE Mbit/s (what the reservations leave), borrowing up
    to CEIL.  Applied after every change of the reservations on that link; no undo: the link's
    shaping goes with its interface, and the next change sets the class again."""

    node: str
    dev: str
    rate: float
    ceil: float


@dataclass(frozen=True)
class AclTable:
    """A namespace's whole access-rule table (acl/nft.py renders it; counters carry over), or its
    removal when `vpcs` is empty.  `vrfs`: ((tenant, VRF device or None), ...), the VRFs whose
    traffic it filters (a device's member interfaces are read when it is applied); `vpcs`: each
    active VPC's rules as JSON text ({name, tenant, subnet, acl, resolved}).  Applied whole at every
    change of the rules or of a VPC's membership; no undo: an empty table is its removal."""

    node: str
    vrfs: tuple = ()
    vpcs: tuple = ()


@dataclass(frozen=True)
class FibWait:
    """Wait until every node's kernel FIB routes `prefix` via `via` (a route a control plane carries
    there: observed, not taken from the daemons' word); a RealizeError naming the nodes still
    without it after `timeout_s`.  Applied once, no undo."""

    nodes: tuple
    prefix: str
    via: Optional[str]        # None: any gateway, but with a label stack in VRF `vrf` (VPNv4)
    timeout_s: float = 10.0
    vrf: Optional[str] = None


KINDS = {c.__name__: c for c in (Node, Veth, Bridge, Vrf, Enslave, Vxlan, FdbAppend, Address, Adopt, Route, MplsRoute,
                                 OvsBridge, OvsPort, Shape, TcClass, TcFilter, FrrRouter, OvsFlows, ForgetMac,
                                 FdbForget, FibWait, BestEffort, AclTable)}


def to_json(obj) -> dict:
    """An action or node as plain data (the managers keep their undo logs as JSON)."""
    return {"@": type(obj).__name__, **asdict(obj)}


def from_json(d: dict):
    d = dict(d)
    cls = KINDS[d.pop("@")]
    return cls(**{k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
                  for k, v in d.items()})
