"""`acl: {vpc, default, rules}`: replace a VPC's access rules (acl/model.py, acl/checks.py)."""
from __future__ import annotations

from typing import Iterator

from pydantic import Field

from ...acl.checks import scenario_problems as acl_problems
from ...acl.model import AclStep
from ...errors import Problem
from ..kind import StepKind
from ..paper import Paper
from ..world import World


def paper(w: Paper, a: AclStep, at: tuple, i: int, ok: bool) -> Iterator[Problem]:
    yield from acl_problems(w.topo, a, set(w.live), at)


def run(w: World, a: AclStep) -> tuple[list, str]:
    got = w.network.acl({"vpc": a.vpc, "acl": a.model_dump(by_alias=True, exclude={"vpc"})})
    return [], f"{a.vpc}: {got['rules']} rule(s), default {a.default}, at {', '.join(got['pes']) or 'no PE yet'}"


KIND = StepKind("acl", AclStep, paper, run, lambda a, detail: f"acl {a.vpc}",
                field=Field(None, description="replace a VPC's access rules (acl/model.py)"))
