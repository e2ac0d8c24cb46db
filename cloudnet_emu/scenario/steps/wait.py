"""`wait: SECONDS`: let the testbed settle (a reconvergence, a timer)."""
from __future__ import annotations

import time

from pydantic import Field

from ..kind import StepKind, nothing
from ..world import World


def run(w: World, seconds: float) -> tuple[list, str]:
    time.sleep(seconds)
    return [], f"waited {seconds} s"


KIND = StepKind("wait", float, nothing, run, lambda seconds, detail: f"wait {seconds:g} s",
                field=Field(None, ge=0, le=600, description="seconds"))
