"""`reach: {from, to}`: every sender gets an ICMP echo reply from every destination.

While a link the scenario took down is still down (World.cut), echoes are waited for 0.2 s
instead of 1 s and a pass says how long after the cut the last reply came back: evidence
`back_after_cut_ms` and the metric `back_after_cut_ms.<n>` (n counts such passes), the time
traffic stopped as far as the check saw it (an upper bound, to within one 0.2 s echo).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Union

from pydantic import ConfigDict, Field

from ...spec.model import Strict
from ...verdict import Sent, Status, Verdict, judged
from ..kind import CheckKind
from ..paper import Paper, known
from ..sending import names, no_namespace, reach_timed
from ..world import World

Targets = Union[str, list[str]]


class Pair(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    src: Targets = Field(alias="from", description="node or VM name(s)")
    to: Targets = Field(description="node or VM name(s), or addresses")


def paper(w: Paper, body: Pair, at: tuple):
    """Both ends: nodes, VMs attached at this step, `root` or addresses (shared with `isolated`)."""
    for key, value in (("from", body.src), ("to", body.to)):
        many = not isinstance(value, str)
        for k, n in enumerate(names(value)):
            yield from known(w, n, at + ((key, k) if many else (key,)))


def run(w: World, body: Pair, expect: str) -> Verdict:
    pairs = [(s, d) for s in names(body.src) for d in names(body.to) if s != d]
    dead = no_namespace(w, [s for s, _ in pairs])
    if dead:
        return judged(Status.ERROR, f"sender(s) could not send: no namespace for {', '.join(dead)}")
    got, done = reach_timed(w, pairs, wait=0.2 if w.cut else 1.0)
    detail = ", ".join(f"{s}->{d} {'reply' if v else 'no reply'}" for (s, d), v in got.items())
    evidence: dict = {"sent": [asdict(Sent(s, f"ICMP echo to {d} ({w.address(d)})", 1)) for s, d in pairs]}
    if w.cut and all(got.values()):
        link, at = w.cut
        evidence["back_after_cut_ms"] = back = round((done - at) * 1000)
        detail = f"every reply back {back} ms after {link} went down: {detail}"
        w.metrics[f"back_after_cut_ms.{sum(k.startswith('back_after_cut_ms.') for k in w.metrics) + 1}"] = back
    return judged(Status.PASS if all(got.values()) else Status.FAIL, detail, evidence)


def title_of(kind: str, body: Pair) -> str:
    return f"{kind} {','.join(names(body.src))} -> {','.join(names(body.to))}"


KIND = CheckKind("reach", Pair, paper, run, lambda body: title_of("reach", body), "reachability")
