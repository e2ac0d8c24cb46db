"""Link down/up on a running testbed, as the kernel sees it.

Down: both ends of the veth administratively down; the kernel drops the routes through
them (static routing here: nothing reconverges, the paths through that link are gone).
Up: both ends up again, and every route and label route of the two routers is applied
again from their sources -- the plan (rebuilt from the topology file, deterministic)
and the managers' ledgers -- so the paths come back exactly as they were.
"""
from __future__ import annotations

from . import naming, probe, state
from .kernel import ns
from .managers.ledger import Ledger
from .plan.actions import MplsRoute, Route, from_json
from .plan.build import build_plan
from .plan.choose import choose
from .realize.apply import apply_actions
from .spec.load import load_topology


def set_link(testbed: str, a: str, b: str, up: bool) -> None:
    for node, peer in ((a, b), (b, a)):
        ns.run(["ip", "link", "set", peer, "up" if up else "down"], netns=naming.netns(testbed, node))
    if up:
        apply_actions(testbed, [], _routes_of(testbed, {a, b}))


def _routes_of(testbed: str, nodes: set) -> list:
    record = state.read(testbed)
    # the testbed's plan again: its file with the realizations it was built with (planning is deterministic)
    topo = load_topology(record["topology"])
    plan = build_plan(topo, choose(topo, probe.probe(), dict(record["realizations"]), True))
    actions = [x for x in plan.actions if isinstance(x, (Route, MplsRoute)) and x.node in nodes]
    for name in ("network", "cloud"):
        for entry in Ledger(testbed, name).units.values():
            actions += [a for a in map(from_json, entry["actions"])
                        if isinstance(a, (Route, MplsRoute)) and a.node in nodes]
    return actions
