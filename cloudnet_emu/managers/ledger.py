"""A manager's memory: what it built, in units with users, kept as JSON beside state.json.

    unit "vm:web1"             nodes + actions that made VM web1 (users: -)
    unit "lce:dc1/acme-vpc"    the logical CE of acme-vpc in dc1 (users: the VMs behind it)

`build()` records and applies a unit; `release()` drops a user and undoes the unit when
the last one leaves.  Undo is the exact inverse of what was applied, in reverse order.
`run()` applies actions that leave nothing to undo (a switch forgetting a MAC).  The ledger
only hands actions to its executor (realize/executor.py's Realizer; managers/paper.py's
Paper records them instead): nothing here touches the kernel.

On disk: /run/cloudnet-emu/<testbed>/<manager>/ holds one small file per unit and
data.json for the rest (VMs, VLANs, address allocations), so recording a change costs
the same with 10 VMs as with 1000.
"""
from __future__ import annotations

import json
import os
import urllib.parse
from contextlib import contextmanager

from ..naming import STATE_ROOT
from ..plan.actions import from_json, to_json
from ..realize.executor import Realizer


def _write(path: str, obj) -> None:
    tmp = path + ".tmp"
    text = json.dumps(obj, separators=(",", ":"))     # dumps: the C encoder; dump() streams in Python
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Units(dict):
    """unit name -> entry; every change of an entry goes to its own file.  The names are also kept
    by kind (the text before their first ':', "host" for "host:vpc/ip"): `of_kind` lists the few
    endpoints or reservations among thousands of VMs' units without a pass over all of them."""

    def __init__(self, directory: str):
        super().__init__()
        self.dir = directory
        self._kinds: dict[str, dict[str, None]] = {}      # kind -> names, in insertion order
        self._held: set[str] | None = None                 # see held()
        os.makedirs(directory, mode=0o700, exist_ok=True)
        for fn in sorted(os.listdir(directory)):
            if fn.endswith(".json"):
                with open(os.path.join(directory, fn)) as f:
                    self._put(urllib.parse.unquote(fn[:-5]), json.load(f))

    def _put(self, unit: str, entry) -> None:
        super().__setitem__(unit, entry)
        self._kinds.setdefault(unit.split(":", 1)[0], {})[unit] = None

    def of_kind(self, kind: str) -> list[str]:
        """The names of the units of a kind ("ep", "member", "resv" ...)."""
        return list(self._kinds.get(kind, ()))

    def _path(self, unit: str) -> str:
        return os.path.join(self.dir, urllib.parse.quote(unit, safe="") + ".json")

    def store(self, unit: str) -> None:
        if self._held is not None:
            self._held.add(unit)
        else:
            _write(self._path(unit), self[unit])

    @contextmanager
    def held(self):
        """Within it, changed units are written once, at the end (a bulk of attaches at `up`, whose
        failure takes the whole testbed down: no record is needed for a crash in between; each file
        write costs milliseconds where /run is not a tmpfs)."""
        if self._held is not None:
            yield
            return
        self._held = set()
        try:
            yield
        finally:
            held, self._held = self._held, None
            for unit in sorted(held):
                if unit in self:
                    _write(self._path(unit), self[unit])

    def __setitem__(self, unit, entry):
        self._put(unit, entry)
        self.store(unit)

    def __delitem__(self, unit):
        super().__delitem__(unit)
        self._kinds.get(unit.split(":", 1)[0], {}).pop(unit, None)
        if self._held is not None:
            self._held.discard(unit)
        try:
            os.unlink(self._path(unit))
        except FileNotFoundError:
            pass


def data_path(testbed: str, name: str) -> str:
    return os.path.join(STATE_ROOT, testbed, name, "data.json")


def read_data(testbed: str, name: str) -> dict:
    """A manager's data.json alone (VMs, VLANs), without loading its units: for readers."""
    try:
        with open(data_path(testbed, name)) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


class Ledger:
    def __init__(self, testbed: str, name: str, executor=None):
        self.testbed = testbed
        self.executor = executor or Realizer(testbed)
        self.path = data_path(testbed, name)
        self.units = Units(os.path.join(os.path.dirname(self.path), "units"))
        self.data = read_data(testbed, name)
        self.pending_ovs: list | None = None     # batching (see bulk())
        self.dirty = False

    @contextmanager
    def bulk(self):
        """Within `with ledger.bulk():`, OVS changes, the units' and data.json's writes wait for the end."""
        self.pending_ovs = []
        try:
            with self.units.held():
                yield
        finally:
            pending, self.pending_ovs = self.pending_ovs, None
            try:
                self.executor.flush_ovs(pending)
            finally:
                self.save()

    def save(self) -> None:
        if self.pending_ovs is not None:     # in bulk mode: once, at the end
            return
        _write(self.path, self.data)

    def has(self, unit: str) -> bool:
        return unit in self.units

    def build(self, unit: str, nodes: list, actions: list, users=(), mpls_nodes=(), meta=None) -> None:
        """Record, then apply (so a crash mid-way still leaves a record `clean` can act on)."""
        self.units[unit] = {"nodes": [to_json(n) for n in nodes], "actions": [to_json(a) for a in actions],
                            "users": list(users), "meta": meta or {}}
        try:
            self.executor.apply(nodes, actions, mpls_nodes=mpls_nodes, ovs_later=self.pending_ovs)
        except BaseException:
            self.undo(unit)
            raise

    def use(self, unit: str, user: str) -> None:
        if user not in self.units[unit]["users"]:
            self.units[unit]["users"].append(user)
            self.units.store(unit)

    def release(self, unit: str, user: str) -> bool:
        """Drop a user; undo the unit when none is left.  True if it was undone."""
        entry = self.units.get(unit)
        if entry is None:
            return False
        if user in entry["users"]:
            entry["users"].remove(user)
        if entry["users"]:
            self.units.store(unit)
            return False
        self.undo(unit)
        return True

    def undo(self, unit: str) -> None:
        entry = self.units.get(unit)
        if entry is None:
            return
        self.executor.undo([from_json(n) for n in entry["nodes"]], [from_json(a) for a in entry["actions"]])
        del self.units[unit]

    def run(self, actions: list) -> None:
        """Apply actions that leave nothing behind to undo (no unit is kept for them)."""
        if actions:
            self.executor.apply([], actions)

    def meta(self, unit: str) -> dict:
        return self.units[unit]["meta"]

    def touch(self, unit: str) -> None:
        """Write a unit whose entry was changed in place (its users or meta)."""
        self.units.store(unit)
