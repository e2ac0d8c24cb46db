"""The kernel's IPv4 routes as data (`ip -j route`), label stacks included.

`ip -j route` writes a labelled route's stack under a second "dst" key in the same object
(`{"dst": "10.1.2.0/24", "encap": "mpls", "dst": "16/145", ...}`), which a plain JSON reader
collapses into the last one.  `parse` keeps the first as `dst` and turns the encap's into
`labels` (outermost first), in a route and in each of its multipath `nexthops`.
"""
from __future__ import annotations

import json
from typing import Optional

from .exec import run


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key == "dst" and out.get("encap") == "mpls":      # the encap's dst: the label stack
            out["labels"] = [int(x) for x in str(value).split("/") if x.isdigit()]
        else:
            out[key] = value
    return out


def parse(text: str) -> list[dict]:
    """`ip -j route` output -> its routes; [] for no or unreadable output."""
    try:
        rows = json.loads(text or "[]", object_pairs_hook=_pairs)
    except ValueError:
        return []
    return rows if isinstance(rows, list) else []


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
