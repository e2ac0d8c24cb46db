"""`reserve: {name, vpc, between|site, bw, ...}`: a bandwidth reservation made, changed or released (scenario/qos.py)."""
from __future__ import annotations

from typing import Iterator

from ...errors import Problem
from ...spec.checks import _ref_hint
from .. import qos
from ..kind import StepKind
from ..paper import Paper, known
from ..qos import ReserveStep
from ..world import World


def paper(w: Paper, r: ReserveStep, path: tuple, i: int, ok: bool) -> Iterator[Problem]:
    """A reservation's VPC (l3vpn), its ends (VMs at this step, hosts or sites it joins), a hose's site."""
    if r.release:
        return
    if r.vpc is None and not r.change:
        yield Problem(f"reservation {r.name} names no vpc", path=path, hint="add vpc: (the VPC it is for)")
    vpc = w.vpcs.get(r.vpc) if r.vpc else None
    if r.vpc and vpc is None:
        yield Problem(f"unknown VPC {r.vpc!r}", path=path + ("vpc",), at_value=True,
                      hint=_ref_hint(r.vpc, w.vpcs, "VPCs"))
    elif vpc is not None and vpc.type != "l3vpn":
        yield Problem(f"VPC {r.vpc} is {vpc.type}: reservations are for l3vpn VPCs", path=path + ("vpc",),
                      at_value=True, hint="reserve on an l3vpn VPC")
    for k, end in enumerate(r.between or []):
        if ok or end in w.gone:
            yield from known(w, end, path + ("between", k))
    if r.site is not None and vpc is not None and r.site not in vpc.sites:
        yield Problem(f"{r.site!r} is not an enterprise site of VPC {r.vpc}", path=path + ("site",), at_value=True,
                      hint=f"its sites: {', '.join(vpc.sites) or 'none'}")


def run(w: World, r: ReserveStep) -> tuple[list, str]:
    return [], qos.run_reserve(w, r)


def title(r: ReserveStep, detail: str) -> str:
    return f"reserve {r.name}" + (" (release)" if r.release else "")


KIND = StepKind("reserve", ReserveStep, paper, run, title)
