"""The refusals a step may expect (`expect: {fail: KIND}`): the one list of kinds, each the exception
the code raises on purpose for it.  Any other outcome of such a step (success, another exception,
a crash) is red."""
from __future__ import annotations

from typing import Optional

from ..errors import AdmissionError, PlacementError, SpecError, StateError

REFUSALS = {
    "placement": PlacementError,    # the Cloud Manager found no place (capacity, a taken name/address/MAC)
    "admission": AdmissionError,    # a bandwidth reservation does not fit on its path
    "state": StateError,            # the testbed has no such thing: a VM, a reservation, a VPC endpoint
    "spec": SpecError,              # a request the managers reject at validation (e.g. an acl step's rules)
}


def refusal_kind(exc: BaseException) -> Optional[str]:
    """The refusal EXC is, if any."""
    return next((k for k, cls in REFUSALS.items() if isinstance(exc, cls)), None)
