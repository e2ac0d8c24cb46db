"""The ledger's units on disk: kept by kind, and held back from disk within a bulk."""
from __future__ import annotations

import os

from cloudnet_emu.managers.ledger import Units


def test_units_are_listed_by_kind_as_they_come_and_go(tmp_path):
    units = Units(str(tmp_path))
    for name in ("ep:a@dc1", "host:a/10.0.0.2", "ep:b@dc2", "resv:x"):
        units[name] = {"meta": {}}
    assert units.of_kind("ep") == ["ep:a@dc1", "ep:b@dc2"] and units.of_kind("member") == []
    del units["ep:a@dc1"]
    assert units.of_kind("ep") == ["ep:b@dc2"]
    assert Units(str(tmp_path)).of_kind("ep") == ["ep:b@dc2"]       # read back from the files


def test_held_units_are_written_once_at_the_end_and_deleted_ones_not_at_all(tmp_path):
    units = Units(str(tmp_path))
    with units.held():
        units["vm:a"] = {"users": []}
        units["vm:b"] = {"users": []}
        units["vm:a"]["users"].append("x")
        units.store("vm:a")
        del units["vm:b"]
        assert os.listdir(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["vm%3Aa.json"]
    assert Units(str(tmp_path))["vm:a"] == {"users": ["x"]}
