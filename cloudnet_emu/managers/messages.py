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
