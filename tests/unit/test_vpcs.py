"""`vpc create` enters a VPC the way a topology file's is planned (one writer: World.add_vpc)."""
from __future__ import annotations

import pytest

from cloudnet_emu import state, vpcs
from cloudnet_emu.errors import SpecError
from cloudnet_emu.plan.build import build_plan
from cloudnet_emu.plan.choose import choose
from cloudnet_emu.probe import Feature
from cloudnet_emu.spec.load import load_topology

ALL = ["root", "ovs", "vrf", "vxlan", "bridge", "vlan_filtering", "8021q", "mpls", "mpls_iptunnel", "htb", "tbf",
       "netem", "ovs_kernel_datapath"]


@pytest.fixture
def store(monkeypatch):
    topo = load_topology("topologies/cloudnet.yaml")
    plan = build_plan(topo, choose(topo, {n: Feature(True, "test") for n in ALL}))
    records = {"t": {"testbed": "t", "info": plan.info}}
    monkeypatch.setattr(state, "read", lambda tb: records[tb])
    monkeypatch.setattr(state, "write", lambda tb, rec: records.__setitem__(tb, rec))
    return records


def _tenant_site(store):
    return next((n, m) for n, m in store["t"]["info"]["sites"].items())


def test_create_keeps_near_and_acl_like_a_planned_vpc(store):
    site, meta = _tenant_site(store)
    entry = vpcs.create("t", {"name": "lab", "tenant": meta["tenant"], "type": "l3vpn", "subnet": "10.250.0.0/24",
                              "sites": [site], "placement": "nearest", "near": site,
                              "acl": {"default": "deny", "rules": []}})
    stored = store["t"]["info"]["vpcs"]["lab"]
    assert stored == entry and stored["near"] == site and stored["acl"] == {"default": "deny", "rules": []}
    planned = next(iter(store["t"]["info"]["vpcs"].values()))
    assert list(stored) == list(planned)      # the same keys in the same order


def test_create_refuses_a_subnet_in_a_provider_pool(store):
    _, meta = _tenant_site(store)
    with pytest.raises(SpecError) as err:
        vpcs.create("t", {"name": "lab", "tenant": meta["tenant"], "type": "l3vpn", "subnet": "100.65.3.0/24"})
    [problem] = err.value.problems
    assert problem.message == "VPC lab: 100.65.3.0/24 overlaps the provider's access pool 100.65.0.0/16"
    assert problem.file == "vpc create" and "lab" not in store["t"]["info"]["vpcs"]
