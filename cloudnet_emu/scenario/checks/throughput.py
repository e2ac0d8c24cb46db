"""`throughput: {from, to, reservation|min_mbit, competing}`: iperf3 gets its share (scenario/qos.py)."""
from __future__ import annotations

from ...verdict import Verdict, judged
from .. import qos
from ..kind import CheckKind
from ..paper import ends
from ..qos import ThroughputCheck
from ..world import World


def run(w: World, body: ThroughputCheck, expect: str) -> Verdict:
    return judged(*qos.throughput(w, body))


def title(body: ThroughputCheck) -> str:
    return f"throughput {body.src} -> {body.to}" + (f" under reservation {body.reservation}"
                                                    if body.reservation else "")


KIND = CheckKind("throughput", ThroughputCheck, ends, run, title, "performance")
