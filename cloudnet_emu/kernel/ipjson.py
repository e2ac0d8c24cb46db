"""`ip -j` output as data, read tolerantly.

iproute2 prints some objects with a key twice: a labelled route (`encap mpls`) carries the
route's destination as "dst" and then its label stack as "dst" again, and plain `json.loads`
keeps the last, so the route's prefix would read as "100/200".  Here the first of a repeated
key wins (the route's own field comes before its encapsulation's); the later values are kept
under "<key>#2", "<key>#3" ... so nothing is silently lost.
"""
from __future__ import annotations

import json
from typing import Any


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key not in out:
            out[key] = value
            continue
        n = 2
        while f"{key}#{n}" in out:
            n += 1
        out[f"{key}#{n}"] = value
    return out


def loads(text: str) -> Any:
    """TEXT (an `ip -j ...` output; empty: an empty list) as data; ValueError if it is not JSON."""
    return json.loads(text or "[]", object_pairs_hook=_pairs)
