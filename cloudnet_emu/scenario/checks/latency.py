"""`latency: {from, to, tolerance_ms}`: the minimum RTT matches the path's netem delays (scenario/qos.py)."""
from __future__ import annotations

from ...verdict import Verdict, judged
from .. import qos
from ..kind import CheckKind
from ..paper import ends
from ..qos import LatencyCheck
from ..world import World


def run(w: World, body: LatencyCheck, expect: str) -> Verdict:
    return judged(*qos.latency(w, body))


KIND = CheckKind("latency", LatencyCheck, ends, run, lambda body: f"latency {body.src} -> {body.to}", "performance")
