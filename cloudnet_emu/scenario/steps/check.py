"""`check: {...}`: a check run as a step, at its place among them (scenario/checks/).  Its verdict is
its check's: `run` gives the check's report entry, which the runner takes as the step's outcome."""
from __future__ import annotations

from typing import Iterator

from ...errors import Problem
from ..checks import Check, problems
from ..judge import check_name, run_check
from ..kind import StepKind
from ..paper import Paper


def paper(w: Paper, c: Check, at: tuple, i: int, ok: bool) -> Iterator[Problem]:
    yield from problems(w, c, at)


KIND = StepKind("check", Check, paper, run_check, lambda c, detail: check_name(c))
