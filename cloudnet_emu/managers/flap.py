"""MAC flapping: a MAC that moves between sites more than N times in M seconds is flagged.

The defaults (5 moves in 180 s) are those RFC 7432 section 15 implementations use for MAC
mobility.  The Network Manager learns where a MAC is by sampling its own VPLS bridges (a MAC
learned on a PE's attachment port is in that attachment's site; one learned on a VXLAN port is
remote) and records every change of site per VPC: the same MAC in another VPC (another tenant)
is another key, so it never counts against the first.

    moves     network.json  "mac_moves": {"<vpc> <mac>": {"site": S, "moves": [t, ...], "flagged": t|null}}
"""
from __future__ import annotations

import json
import time
from typing import Optional

from .. import naming
from ..kernel import ns

MOVES, WINDOW_S = 5, 180.0


def observe(record: dict, vpc: str, mac: str, site: str, now: float,
            moves: int = MOVES, window_s: float = WINDOW_S) -> dict:
    """Record MAC of VPC seen at SITE at NOW in RECORD (mutated); the MAC's entry after it."""
    key = f"{vpc} {mac.lower()}"
    e = record.setdefault(key, {"site": site, "moves": [], "flagged": None})
    if e["site"] != site:
        e["site"] = site
        e["moves"].append(now)
    e["moves"] = [t for t in e["moves"] if now - t <= window_s]
    if len(e["moves"]) > moves and e["flagged"] is None:
        e["flagged"] = now
    return {"vpc": vpc, "mac": mac.lower(), **e, "moves": list(e["moves"])}


def flagged(record: dict) -> list[dict]:
    return [{"vpc": k.split()[0], "mac": k.split()[1], **e} for k, e in sorted(record.items()) if e["flagged"]]


def vpls_locations(testbed: str, endpoints: list[dict], vpc: str) -> dict[str, str]:
    """MAC -> site, from the VPLS bridges of VPC: MACs learned on a PE's attachment port."""
    out = {}
    for ep in endpoints:
        if ep.get("vpc") != vpc or ep.get("type") != "vpls" or not ep.get("pe_if"):
            continue
        res = ns.run(["bridge", "-j", "fdb", "show", "br", naming.vpls_bridge(vpc)],
                     netns=naming.netns(testbed, ep["pe"]), check=False)
        for f in json.loads(res.stdout or "[]"):
            if f.get("ifname") == ep["pe_if"] and "permanent" not in f.get("state", "") and f.get("mac"):
                out[f["mac"].lower()] = ep["site"]
    return out


def sample(nm, vpc: str, now: Optional[float] = None) -> dict:
    """One sampling round of the NM: locate the MACs of VPC, record their moves, save."""
    now = time.time() if now is None else now
    eps = [nm.ledger.meta(u) for u in nm.ledger.units if u.startswith("ep:")]
    record = nm.ledger.data.setdefault("mac_moves", {})
    seen = {mac: observe(record, vpc, mac, site, now) for mac, site in vpls_locations(nm.testbed, eps, vpc).items()}
    nm.ledger.save()
    return {"seen": seen, "flagged": flagged(record)}
