"""The Cloud Manager's rules that need no testbed, kept once: the Cloud Manager applies them to a
running testbed, the scenario replay (scenario/paper.py) to the testbed on paper, before anything
is built, so a scenario is refused for the same reason the manager would refuse its step."""
from __future__ import annotations

from typing import Iterable


def vm_name(taken: Iterable[str]) -> str:
    """The name an unnamed VM gets: the first vmN that no node or VM has."""
    taken = set(taken)
    return next(f"vm{i}" for i in range(1, 100000) if f"vm{i}" not in taken)


def fits(free: tuple[int, int], vcpus: int, mem_mb: int) -> bool:
    """Does a VM of VCPUS and MEM_MB fit in FREE (vCPUs, MB)?"""
    return free[0] >= vcpus and free[1] >= mem_mb
