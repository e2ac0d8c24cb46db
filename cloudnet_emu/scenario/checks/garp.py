"""`garp: {vm, at}`: gratuitous ARPs of VM's last migration were seen where a sniffer listened (migrate's `sniff:`)."""
from __future__ import annotations

from pydantic import Field

from ...errors import Problem
from ...spec.model import Name, Strict
from ...verdict import Status, Verdict, judged
from ..kind import CheckKind
from ..paper import Paper, vm_ref
from ..world import World


class GarpCheck(Strict):
    vm: Name
    at: str = Field(description="where the last migration's sniffers listened: a cloud or enterprise site, or a node")


def paper(w: Paper, body: GarpCheck, at: tuple):
    yield from vm_ref(w, body.vm, at + ("vm",), "be checked")
    if body.vm in w.live and body.at not in w.sniffed.get(body.vm, ()):
        listened = ", ".join(sorted(w.sniffed.get(body.vm, ()))) or "nowhere"
        yield Problem(f"no sniffer listens at {body.at!r} during {body.vm}'s last migration (sniffed: "
                      f"{listened})", path=at + ("at",), at_value=True,
                      hint="add it to that migrate step's sniff: [...]; without one this check cannot pass")


def run(w: World, body: GarpCheck, expect: str) -> Verdict:
    seen = w.migrations.get(body.vm, {}).get("sniffed", {}).get(body.at)
    if seen is None:
        return judged(Status.ERROR, f"no sniffer listened at {body.at} during {body.vm}'s last migration")
    detail = f"{len(seen)} gratuitous ARP(s) from {body.vm} seen at {body.at}" + (
        f", first {seen[0]['time'] - w.migrations[body.vm]['times']['resume']:.3f} s after resume" if seen else "")
    return judged(Status.PASS if seen else Status.FAIL, detail)


KIND = CheckKind("garp", GarpCheck, paper, run, lambda body: f"gratuitous ARP of {body.vm} seen at {body.at}",
                 "packets")
