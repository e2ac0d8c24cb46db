"""Access rules -> the text of one nftables table for one namespace (`nft -f -`), and back.

    table inet cloudnet_acl {
      counter bravo_vpc__db { packets 0 bytes 0 }            # one per rule, + <vpc>__default
      chain forward { type filter hook forward priority 0; policy accept;
        jump vrf_bravo                                       # fallback: the namespace is the VRF
        iifname { "vrf-bravo", "dc1.100" } jump vrf_bravo    # kernel VRF: the VRF's members
        oifname { "vrf-bravo", "dc1.100" } jump vrf_bravo }
      chain output { type filter hook output priority 0; policy accept;     # kernel VRF only
        oifname { "vrf-bravo", "dc1.100" } ip saddr { 100.65.0.1 } accept   # the PE's own packets
        oifname { "vrf-bravo", "dc1.100" } jump vrf_bravo }  # MPLS-popped, sent through vrf-bravo
      chain vrf_bravo { ip saddr 10.1.100.0/24 jump vpc_bravo_vpc
                        ip saddr != 10.1.100.0/24 ip daddr 10.1.100.0/24 jump vpc_bravo_vpc
                        accept }
      chain vpc_bravo_vpc { ct state established,related return
        ip saddr { 10.1.100.2 } ip daddr { 10.1.100.3 } meta l4proto tcp th dport { 5432 } counter name "bravo_vpc__db" return
        counter name "bravo_vpc__default" drop }
    }

Why `output`: on an MPLS core the egress PE pops the VPN label with `dev vrf-<tenant>`; the VRF
device sends the inner packet through the IPv4 OUTPUT and POSTROUTING hooks, never FORWARD.
Packets whose source is one of the VRF's own addresses (the PE itself) are left alone
(`fib saddr . oif type local` did not do it: the PE's ping through vrf-bravo was still dropped on
the VM tier, likely because the first OUTPUT pass has the VRF device as `oif`, not the address's).
The netns fallback needs no `output`: there the packet is forwarded in the VRF namespace (VXLAN
decapsulated or from a CE), FORWARD sees it.

Every VPC chain with the packet's source or destination subnet judges it, in name order (a packet
with both ends in one VPC jumps there once): an allow (a rule or the default) returns to the VRF
chain, a deny drops at once, so a drop in any VPC wins; the VRF chain then accepts, which also keeps
the base chain's second jump line from judging the packet again.  A VPC's counter counts the packets
its chain judged.  The table is replaced whole and atomically (one `nft -f` transaction); counters
keep their values across a replacement (they are written back in).  Pure: no kernel.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .model import Acl

TABLE = "cloudnet_acl"
FAMILY = "inet"


def ident(name: str) -> str:
    """A name as an nft identifier ('-' is not allowed in them)."""
    return name.replace("-", "_")


def counter_name(vpc: str, rule: str) -> str:
    return f"{ident(vpc)}__{ident(rule)}"


def split_counter(name: str) -> tuple[str, str]:
    """counter name -> (vpc, rule) with '_' for '-' (compare with `ident`)."""
    vpc, _, rule = name.partition("__")
    return vpc, rule


@dataclass
class VrfScope:
    """A tenant VRF in this namespace: master is its VRF device (kernel VRF) or None (its own namespace)."""

    tenant: str
    master: Optional[str] = None
    members: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)      # the VRF's own IPv4 addresses (kernel VRF)


@dataclass
class VpcRules:
    """One VPC's rules with every endpoint word resolved: word -> CIDRs (None for `any`)."""

    name: str
    tenant: str
    subnet: str
    acl: Acl
    resolved: dict[str, Optional[list[str]]]


def _set(items) -> str:
    return "{ " + ", ".join(items) + " }"


def _quoted(names) -> str:
    return _set(f'"{n}"' for n in names)


def _side(words: list[str], resolved: dict) -> Optional[list[str]]:
    """CIDRs matching these endpoint words; None means any address."""
    out: list[str] = []
    for w in words:
        got = resolved.get(w, [])
        if got is None:
            return None
        out += [c for c in got if c not in out]
    return out


def rule_lines(v: VpcRules) -> list[str]:
    """The VPC chain's statements, in rule order, ending with the default verdict."""
    lines = ["ct state established,related return"]
    for rule, name in zip(v.acl.rules, v.acl.names()):
        verdict = "return" if rule.action == "allow" else "drop"
        cname = counter_name(v.name, name)
        directions = [(rule.sources, rule.targets)] + ([(rule.targets, rule.sources)] if rule.both else [])
        for src_words, dst_words in directions:
            src, dst = _side(src_words, v.resolved), _side(dst_words, v.resolved)
            if src == [] or dst == []:
                lines.append(f"# {cname}: no address yet for {src_words if src == [] else dst_words}")
                continue
            match = []
            if src is not None:
                match.append(f"ip saddr {_set(src)}")
            if dst is not None:
                match.append(f"ip daddr {_set(dst)}")
            if rule.proto != "any":
                match.append(f"meta l4proto {rule.proto}")
            if rule.port:
                match.append(f"th dport {_set(p for p in rule.port)}")
            lines.append(" ".join(match + [f'counter name "{cname}"', verdict]))
    default = "return" if v.acl.default == "allow" else "drop"
    lines.append(f'counter name "{counter_name(v.name, "default")}" {default}')
    return lines


def counters_of(vpcs: list[VpcRules]) -> list[str]:
    return [counter_name(v.name, n) for v in vpcs for n in v.acl.names() + ["default"]]


def render(vrfs: list[VrfScope], vpcs: list[VpcRules], kept: dict[str, tuple[int, int]] = None) -> str:
    """The whole table for one namespace; `kept`: counter -> (packets, bytes) to carry over."""
    kept = kept or {}
    out = [f"table {FAMILY} {TABLE}", f"delete table {FAMILY} {TABLE}", f"table {FAMILY} {TABLE} {{"]
    for c in counters_of(vpcs):
        packets, nbytes = kept.get(c, (0, 0))
        out.append(f"  counter {c} {{ packets {packets} bytes {nbytes} }}")
    out.append("  chain forward {")
    out.append("    type filter hook forward priority 0; policy accept;")
    tenants = {v.tenant for v in vpcs}
    for s in vrfs:
        if s.tenant not in tenants:
            continue
        if s.master is None:
            out.append(f"    jump vrf_{ident(s.tenant)}")
        else:
            devs = [s.master] + [m for m in s.members if m != s.master]
            out.append(f"    iifname {_quoted(devs)} jump vrf_{ident(s.tenant)}")
            out.append(f"    oifname {_quoted(devs)} jump vrf_{ident(s.tenant)}")
    out.append("  }")
    kernel = [s for s in vrfs if s.tenant in tenants and s.master is not None]
    if kernel:
        out.append("  chain output {")
        out.append("    type filter hook output priority 0; policy accept;")
        for s in kernel:
            devs = [s.master] + [m for m in s.members if m != s.master]
            if s.local:
                out.append(f"    oifname {_quoted(devs)} ip saddr {_set(s.local)} accept")
            out.append(f"    oifname {_quoted(devs)} jump vrf_{ident(s.tenant)}")
        out.append("  }")
    for s in vrfs:
        if s.tenant not in tenants:
            continue
        out.append(f"  chain vrf_{ident(s.tenant)} {{")
        for v in vpcs:
            if v.tenant == s.tenant:
                out.append(f"    ip saddr {v.subnet} jump vpc_{ident(v.name)}")
                out.append(f"    ip saddr != {v.subnet} ip daddr {v.subnet} jump vpc_{ident(v.name)}")
        out.append("    accept")
        out.append("  }")
    for v in vpcs:
        out.append(f"  chain vpc_{ident(v.name)} {{")
        out += [f"    {line}" for line in rule_lines(v)]
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


def removal() -> str:
    """Remove the table if it is there (idempotent: declare, then delete)."""
    return f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n"


def parse_counters(listing: dict) -> dict[str, tuple[int, int]]:
    """`nft -j list counters table inet cloudnet_acl` -> counter -> (packets, bytes)."""
    out = {}
    for item in listing.get("nftables", []):
        c = item.get("counter")
        if c and c.get("table") == TABLE:
            out[c["name"]] = (int(c.get("packets", 0)), int(c.get("bytes", 0)))
    return out
