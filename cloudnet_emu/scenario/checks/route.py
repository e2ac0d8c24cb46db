"""`route: {node, dst, vrf}`: NODE (or the tenant's VRF on it) has a route to DST."""
from __future__ import annotations

from typing import Optional

from pydantic import Field

from ...errors import Problem
from ...kernel import ns
from ...spec.checks import _ref_hint
from ...spec.model import Strict
from ...verdict import Status, Verdict, judged
from ..kind import CheckKind
from ..paper import Paper, known
from ..sending import no_namespace
from ..world import World


class RouteCheck(Strict):
    node: str
    dst: str
    vrf: Optional[str] = Field(None, description="the tenant whose VRF on `node` to look in")


def paper(w: Paper, body: RouteCheck, at: tuple):
    yield from known(w, body.node, at + ("node",))
    if body.vrf is not None and body.vrf not in w.tenants:
        yield Problem(f"unknown tenant {body.vrf!r} (vrf names a tenant)", path=at + ("vrf",), at_value=True,
                      hint=_ref_hint(body.vrf, w.tenants, "tenants"))


def run(w: World, body: RouteCheck, expect: str) -> Verdict:
    node = body.node
    argv = ["ip", "route", "show", body.dst]
    if body.vrf:     # the tenant's VRF on that router, whichever way it is realized
        place = w.vrf(body.node, body.vrf)
        node = place["node"]
        argv = ["ip", "route", "show"] + (["table", str(place["table"])] if place["table"] else []) + [body.dst]
    if no_namespace(w, [node]):
        return judged(Status.ERROR, f"no namespace for {node}: cannot look up its routes")
    res = ns.run(argv, netns=w.netns(node), check=False)
    if res.returncode != 0:
        return judged(Status.ERROR, f"`{' '.join(argv)}` in {node} failed: {(res.stderr or res.stdout).strip()[:200]}")
    out = res.stdout.strip()
    return judged(Status.PASS if out else Status.FAIL, out or f"no route to {body.dst} on {node}")


def title(body: RouteCheck) -> str:
    return f"route {body.dst} on {body.node}" + (f" vrf {body.vrf}" if body.vrf else "")


KIND = CheckKind("route", RouteCheck, paper, run, title, "state")
