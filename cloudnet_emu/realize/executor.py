"""The executor a manager's ledger hands its actions to; this one changes the kernel and OVS.

An executor has three calls, all on plain actions (plan/actions.py):

    apply(nodes, actions, mpls_nodes=(), ovs_later=None)   build (apply.apply_actions)
    undo(nodes, actions)                                    remove, in reverse (remove.undo)
    flush_ovs(actions)                                      the OVS actions `ovs_later` collected

The managers decide and record; only an executor acts.  managers/paper.py has the one that
records instead, for tests without root.
"""
from __future__ import annotations

from .apply import apply_actions, apply_ovs
from .remove import undo


class Realizer:
    def __init__(self, testbed: str):
        self.testbed = testbed

    def apply(self, nodes: list, actions: list, mpls_nodes: tuple = (), ovs_later: list | None = None) -> None:
        apply_actions(self.testbed, nodes, actions, mpls_nodes=mpls_nodes, ovs_later=ovs_later)

    def undo(self, nodes: list, actions: list) -> None:
        undo(self.testbed, nodes, actions)

    def flush_ovs(self, actions: list) -> None:
        apply_ovs(self.testbed, actions)
