"""A manager's memory: what it built, in units with users, kept as JSON beside state.json.

    unit "vm:web1"             nodes + actions that made VM web1 (users: -)
    unit "lce:dc1/acme-vpc"    the logical CE of acme-vpc in dc1 (users: the VMs behind it)

`build()` applies and records a unit; `release()` drops a user and undoes the unit when
the last one leaves.  Undo is the exact inverse of what was applied, in reverse order.
"""
from __future__ import annotations

import json
import os

from ..naming import STATE_ROOT
from ..plan.actions import from_json, to_json
from ..realize.apply import apply_actions
from ..realize.remove import undo


class Ledger:
    def __init__(self, testbed: str, name: str):
        self.testbed = testbed
        self.path = os.path.join(STATE_ROOT, testbed, f"{name}.json")
        try:
            with open(self.path) as f:
                self.data = json.load(f)
        except FileNotFoundError:
            self.data = {"units": {}}

    def save(self) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=1)
        os.replace(tmp, self.path)

    @property
    def units(self) -> dict:
        return self.data["units"]

    def has(self, unit: str) -> bool:
        return unit in self.units

    def build(self, unit: str, nodes: list, actions: list, users=(), mpls_nodes=(), meta=None) -> None:
        """Record, then apply (so a crash mid-way still leaves a record `clean` can act on)."""
        self.units[unit] = {"nodes": [to_json(n) for n in nodes], "actions": [to_json(a) for a in actions],
                            "users": list(users), "meta": meta or {}}
        self.save()
        try:
            apply_actions(self.testbed, nodes, actions, mpls_nodes=mpls_nodes)
        except BaseException:
            self.undo(unit)
            raise

    def use(self, unit: str, user: str) -> None:
        if user not in self.units[unit]["users"]:
            self.units[unit]["users"].append(user)
            self.save()

    def release(self, unit: str, user: str) -> bool:
        """Drop a user; undo the unit when none is left.  True if it was undone."""
        entry = self.units.get(unit)
        if entry is None:
            return False
        if user in entry["users"]:
            entry["users"].remove(user)
        if entry["users"]:
            self.save()
            return False
        self.undo(unit)
        return True

    def undo(self, unit: str) -> None:
        entry = self.units.get(unit)
        if entry is None:
            return
        undo(self.testbed, [from_json(n) for n in entry["nodes"]], [from_json(a) for a in entry["actions"]])
        del self.units[unit]
        self.save()

    def meta(self, unit: str) -> dict:
        return self.units[unit]["meta"]
