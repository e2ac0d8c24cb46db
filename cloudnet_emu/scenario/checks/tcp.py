"""`tcp: {vm}`: the TCP connection held across VM's last migration (migrate's `tcp:`) still carries data."""
from __future__ import annotations

from pydantic import Field

from ...errors import Problem
from ...spec.model import Name, Strict
from ...verdict import Status, Verdict, judged
from ..kind import CheckKind
from ..paper import Paper, vm_ref
from ..world import World


class TcpCheck(Strict):
    vm: Name = Field(description="the TCP connection held across this VM's last migration still carries data")


def paper(w: Paper, body: TcpCheck, at: tuple):
    yield from vm_ref(w, body.vm, at + ("vm",), "be checked")
    if body.vm in w.live and body.vm not in w.tcp:
        yield Problem(f"no TCP connection is held across {body.vm}'s last migration", path=at + ("vm",),
                      at_value=True, hint="give that migrate step tcp: NODE (the node at the other end)")


def run(w: World, body: TcpCheck, expect: str) -> Verdict:
    tcp = w.migrations.get(body.vm, {}).get("tcp")
    if tcp is None:
        return judged(Status.ERROR, f"no TCP connection was held across {body.vm}'s last migration")
    resume = w.migrations[body.vm]["times"]["resume"]
    after = [e for e in tcp["echoes"] if e[1] > resume and e[2]]
    detail = (f"{len(tcp['echoes'])} echoes on one connection, {len(after)} after resume"
              + (f"; error {tcp['error']}" if tcp["error"] else ""))
    if not tcp["echoes"] and tcp["error"]:
        return judged(Status.ERROR, f"the TCP connection never carried data: {tcp['error']}")
    return judged(Status.PASS if tcp["error"] is None and after else Status.FAIL, detail)


KIND = CheckKind("tcp", TcpCheck, paper, run, lambda body: f"TCP connection to {body.vm} survives its migration",
                 "continuity")
