"""Messages between the Cloud Manager and the Network Manager: plain data, JSON on the wire."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Optional


@dataclass
class EndpointRequest:
    vpc: str
    tenant: str
    type: str                      # l3vpn | vpls
    site: str                      # cloud site
    pe: str                        # the PE the site is attached to
    vlan: int
    handoff: str                   # root-namespace interface the Cloud Manager leaves for the PE
    subnet: Optional[str] = None   # l3vpn: the VPC's prefix behind the logical CE
    join_site: Optional[str] = None   # vpls: the enterprise site whose LAN the VPC extends


@dataclass
class EndpointReply:
    vpc: str
    site: str
    pe: str
    pe_if: str
    pe_addr: Optional[str] = None  # l3vpn: the PE's address on the attachment circuit (CE's next hop)
    ce_addr: Optional[str] = None  # l3vpn: the address the logical CE takes
    vpn: dict = field(default_factory=dict)   # core, labels or VNI


@dataclass
class ReleaseRequest:
    vpc: str
    site: str


def wire(message) -> dict:
    """What crosses between the managers: a JSON round trip of the message."""
    return json.loads(json.dumps(asdict(message)))


@dataclass
class MoveRequest:
    """Migration -> Cloud Manager: move VM `vm` to a cloud site (and server)."""
    vm: str
    to_site: str
    to_server: Optional[str] = None
    policy: Optional[str] = None   # placement policy at the destination (default: the VPC's)


@dataclass
class MovePlan:
    """Cloud Manager -> migration: where the VM goes, decided before anything moves; passed back to
    each of the Cloud Manager's migration steps (prepare, phase, switch, finish)."""
    vm: str
    vpc: str
    src_site: str
    src_server: str
    dst_site: str
    dst_server: str
    ip: str
    mac: str
    mem_mb: int                    # what pre-copy sends
    precopy_to: str                # the destination CE router's WAN address (the pre-copy stream's sink)
    vlan: Optional[int] = None     # the VPC's VLAN at the destination (set by prepare)
