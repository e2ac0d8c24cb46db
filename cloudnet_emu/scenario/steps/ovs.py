"""`ovs: restart`: restart ovs-vswitchd alone (a fault; kernel/ovs_daemon.py)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ...kernel.ovs_daemon import restart_vswitchd
from ..kind import StepKind, nothing
from ..world import World


def run(w: World, what: str) -> tuple[list, str]:
    res = restart_vswitchd()
    phases = [{"name": "stop", "duration_ms": res["down_s"] * 1000},
              {"name": "start", "duration_ms": res["up_s"] * 1000}]
    return phases, f"ovs-vswitchd restarted (pid {res['old_pid']} -> {res['new_pid']}) in {res['total_s']:.2f} s"


KIND = StepKind("ovs", Literal["restart"], nothing, run, lambda what, detail: f"ovs {what}",
                field=Field(None, description="restart: ovs-vswitchd alone (a fault; ovsdb-server "
                            "and every bridge, port and VLAN tag stay)"))
