"""The kernel's IPv4 routes as data (`ip -j route`), label stacks included.

`ip -j route` writes a labelled route's stack under a second "dst" key in the same object
(`{"dst": "10.1.2.0/24", "encap": "mpls", "dst": "16/145", ...}`), which a plain JSON reader
collapses into the last one.  `parse` reads it with kernel/ipjson.py (the first "dst" stays the
route's) and gives the encap's as `labels` (outermost first), in a route and in each of its
multipath `nexthops`.
"""
from __future__ import annotations

from typing import Optional

from . import ipjson
from .exec import run


def _labels(text) -> list[int]:
    return [int(x) for x in str(text).split("/") if x.isdigit()]


def _stack(obj: dict) -> dict:
    """The encap's "dst" (ipjson keeps it as "dst#2" after the route's own) as `labels`."""
    if obj.get("encap") == "mpls":
        obj["labels"] = _labels(obj["dst#2"] if "dst#2" in obj else obj.get("dst"))
    for hop in obj.get("nexthops") or []:
        if isinstance(hop, dict) and hop.get("encap") == "mpls":
            hop["labels"] = _labels(hop.get("dst#2", hop.get("dst")))
    return obj


def parse(text: str) -> list[dict]:
    """`ip -j route` output -> its routes; [] for no or unreadable output."""
    try:
        rows = ipjson.loads(text)
    except ValueError:
        return []
    return [_stack(r) for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def labels(route: dict) -> list[int]:
    """The label stack a route pushes (the first of its nexthops' where it has several); [] for none."""
    if route.get("encap") == "mpls":
        return route.get("labels") or []
    for hop in route.get("nexthops") or []:
        if hop.get("encap") == "mpls":
            return hop.get("labels") or []
    return []


def read(netns: Optional[str], vrf: Optional[str] = None, prefix: Optional[str] = None) -> list[dict]:
    """The routes of a namespace's main table, or of a VRF's; only those to `prefix` if given."""
    argv = ["ip", "-j", "route", "show"] + (["vrf", vrf] if vrf else []) + ([prefix] if prefix else [])
    return parse(run(argv, netns=netns, check=False).stdout)


def labelled(netns: Optional[str], vrf: str) -> dict[str, list[int]]:
    """prefix (a/len) -> label stack, for the VRF's routes that push one."""
    out = {}
    for r in read(netns, vrf):
        stack, dst = labels(r), r.get("dst")
        if stack and dst and dst != "default":
            out[dst if "/" in dst else dst + "/32"] = stack
    return out
