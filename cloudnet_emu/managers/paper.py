"""The paper executor: applies nothing, records every action a manager hands it, in order.

With it the Cloud and Network Managers run without root (tests/unit/managers/): their
decisions -- placement, addresses, VLANs, endpoints, a migration's moves -- are the actions
they record and the data they keep.  Same calls as realize/executor.py's Realizer.
"""
from __future__ import annotations

from typing import Optional


class Paper:
    def __init__(self):
        self.log: list[tuple[str, object]] = []       # ("apply" | "undo", node or action)

    def apply(self, nodes: list, actions: list, mpls_nodes: tuple = (), ovs_later: Optional[list] = None) -> None:
        self.log += [("apply", x) for x in [*nodes, *actions]]

    def undo(self, nodes: list, actions: list) -> None:
        self.log += [("undo", x) for x in [*reversed(actions), *reversed(nodes)]]

    def flush_ovs(self, actions: list) -> None:
        pass                # recorded when they were applied

    def applied(self, kind: Optional[type] = None) -> list:
        return [x for op, x in self.log if op == "apply" and (kind is None or isinstance(x, kind))]

    def undone(self, kind: Optional[type] = None) -> list:
        return [x for op, x in self.log if op == "undo" and (kind is None or isinstance(x, kind))]

    def clear(self) -> None:
        self.log.clear()
