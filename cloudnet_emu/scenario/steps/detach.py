"""`detach: {vm}`: the Cloud Manager removes a VM."""
from __future__ import annotations

from typing import Iterator

from ...errors import Problem
from ...spec.model import Name, Strict
from ..kind import StepKind
from ..paper import Paper, vm_ref
from ..world import World


class Detach(Strict):
    vm: Name


def paper(w: Paper, body: Detach, at: tuple, i: int, ok: bool) -> Iterator[Problem]:
    name, path = body.vm, at + ("vm",)
    if not ok:
        return
    yield from vm_ref(w, name, path, "be detached")
    if name in w.live:
        del w.live[name]
        w.gone[name] = i
        w.sniffed.pop(name, None)
        w.tcp.discard(name)


def run(w: World, body: Detach) -> tuple[list, str]:
    w.cloud.detach(body.vm)
    return [], f"{body.vm} detached"


KIND = StepKind("detach", Detach, paper, run, lambda body, detail: f"detach {body.vm}")
