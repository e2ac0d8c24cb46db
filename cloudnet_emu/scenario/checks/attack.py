"""`attack: {cases}`: the attack cases (cloudnet-emu attack) all fail to break isolation."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from ... import attack
from ...attack import CASE_NAMES
from ...spec.model import Strict
from ...verdict import Status, Verdict, judged
from ..kind import CheckKind, nothing
from ..world import World


class AttackCheck(Strict):
    cases: Optional[list[Literal[CASE_NAMES]]] = Field(
        None, description="attack cases to run (cloudnet-emu attack); default all; passes iff every case passed (not checked cases are counted apart)")


def run(w: World, body: AttackCheck, expect: str) -> Verdict:
    results = attack.run(w.testbed, body.cases)
    statuses = [r.status for r in results]
    worst = next((st for st in (Status.ERROR, Status.FAIL, Status.PASS) if st in statuses), Status.NOT_CHECKED)
    detail = "; ".join(f"{r.case}: sent {r.sent}, leaked {r.leaked}, {r.status} ({r.reason})" for r in results)
    return judged(worst, detail, {"cases": [r.to_verdict().to_dict() for r in results]})


KIND = CheckKind("attack", AttackCheck, nothing, run,
                 lambda body: f"attack {', '.join(body.cases or ['(all cases)'])}", "isolation")
