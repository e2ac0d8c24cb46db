"""What a VPC's `acl:` may say.

    acl:
      default: deny                  # allow (the default) | deny: for traffic to or from the VPC's VMs
      rules:                         # first match wins; replies of an allowed connection always pass
        - {name: db, from: proc, to: db1, proto: tcp, port: 5432, action: allow}
        - {from: bravo-hq, to: [db1, 10.1.100.0/24], proto: icmp, action: deny, both: true}

An endpoint (`from`, `to`: one or a list) is a VM of the VPC, a site (an enterprise site the
VPC joins: its subnet; a cloud site: the VPC's VMs there), a CIDR, an address, or `any`.
`port`: a number, a range "8000-8099", or a list of them (tcp and udp only).  `both: true`
also matches the reverse direction (to -> from), counted by the same counter.
"""
from __future__ import annotations

import re
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

Targets = Union[str, list[str]]
PORT_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
RULE_NAME = r"^[a-z][a-z0-9-]*$"


def _port(value) -> str:
    """One port or range, normalized to '5432' or '8000-8099'."""
    if isinstance(value, bool):
        raise ValueError(f"invalid port {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        n = int(value)
        if not 1 <= n <= 65535:
            raise ValueError(f"port {n} is out of range 1-65535")
        return str(n)
    m = PORT_RANGE.match(str(value))
    if not m:
        raise ValueError(f"invalid port {value!r}")
    lo, hi = int(m.group(1)), int(m.group(2))
    if not (1 <= lo <= 65535 and 1 <= hi <= 65535) or lo > hi:
        raise ValueError(f"invalid port range {value!r}: write LOW-HIGH within 1-65535, LOW <= HIGH")
    return f"{lo}-{hi}"


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Optional[str] = Field(None, pattern=RULE_NAME, max_length=24,
                                description="names the rule's counter (default: r1, r2 ... by position)")
    src: Targets = Field(alias="from", description="VM, site, CIDR, address or 'any'")
    to: Targets = Field(description="VM, site, CIDR, address or 'any'")
    proto: Literal["tcp", "udp", "icmp", "any"] = "any"
    port: Optional[list[str]] = Field(None, description="destination port(s): 5432, '8000-8099' or a list")
    action: Literal["allow", "deny"]
    both: bool = Field(False, description="also match the reverse direction")

    @field_validator("port", mode="before")
    @classmethod
    def _ports(cls, v):
        if v is None:
            return v
        items = v if isinstance(v, list) else [v]
        if not items:
            raise ValueError("an empty port list matches nothing")
        return [_port(p) for p in items]

    @property
    def sources(self) -> list[str]:
        return [self.src] if isinstance(self.src, str) else list(self.src)

    @property
    def targets(self) -> list[str]:
        return [self.to] if isinstance(self.to, str) else list(self.to)


class Acl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: Literal["allow", "deny"] = Field("allow", description="verdict for VPC traffic no rule matches")
    rules: list[Rule] = []

    def names(self) -> list[str]:
        """Each rule's counter name: its own, or r<position> (1-based)."""
        return [r.name or f"r{i + 1}" for i, r in enumerate(self.rules)]


class Flow(BaseModel):
    """A scenario check: a real probe `from` -> `to` (and back with `both`), see flow.py."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    src: str = Field(alias="from", description="node or VM that opens the connection")
    to: str = Field(description="node or VM that listens")
    proto: Literal["tcp", "udp", "icmp"] = "tcp"
    port: Optional[int] = Field(None, ge=1, le=65535, description="tcp/udp port (default 5001)")
    both: bool = Field(False, description="also probe from `to` to `from`")


class AclStep(Acl):
    """A scenario step replacing a VPC's rules while the testbed runs (`rules: []` and default
    allow: no rules)."""

    vpc: str
