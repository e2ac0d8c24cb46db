"""`flow: {from, to, proto, port, both}`: the VPC's access rules let this flow through or not (acl/flow.py)."""
from __future__ import annotations

from dataclasses import asdict

from ...acl.flow import run_flow
from ...acl.model import Flow
from ...verdict import Verdict, judged
from ..kind import CheckKind
from ..paper import ends
from ..world import World


def run(w: World, body: Flow, expect: str) -> Verdict:
    v = run_flow(w, body, expect)
    return judged(v.status, v.reason, {"sent": [asdict(x) for x in v.sent], "counters": v.evidence["counters"]})


def title(body: Flow) -> str:
    return f"flow {body.src} -> {body.to} {body.proto}" + (f"/{body.port}" if body.port else "") + (
        " both ways" if body.both else "")


KIND = CheckKind("flow", Flow, ends, run, title, "access")
