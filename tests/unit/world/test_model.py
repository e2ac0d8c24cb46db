"""The world model: its serialization is state.json's `info`, unchanged."""
from __future__ import annotations

import json

import pytest

from cloudnet_emu.plan.build import build_plan
from cloudnet_emu.plan.choose import choose
from cloudnet_emu.probe import Feature
from cloudnet_emu.spec.load import load_topology
from cloudnet_emu.spec.model import Vpc as VpcSpec
from cloudnet_emu.world import Site, Vpc, World

ALL = ["root", "ovs", "vrf", "vxlan", "bridge", "vlan_filtering", "8021q", "mpls", "mpls_iptunnel", "htb", "tbf",
       "netem", "ovs_kernel_datapath", "frr"]


@pytest.fixture(scope="module")
def topo():
    return load_topology("topologies/cloudnet.yaml")


def _plan(topo, **forced):
    return build_plan(topo, choose(topo, {n: Feature(True, "test") for n in ALL}, forced=forced))


@pytest.mark.parametrize("forced", [{}, {"core": "vxlan"}, {"control": "bgp"}, {"router": "netns"}])
def test_a_plans_info_round_trips_to_the_same_json(topo, forced):
    info = json.loads(json.dumps(_plan(topo, **forced).info))     # as state.json holds it
    assert json.dumps(World.from_info(info).to_info()) == json.dumps(info)


def test_typed_accessors_read_what_the_dict_says(topo):
    plan = _plan(topo)
    info, world = plan.info, plan.world
    assert world.tenants == info["tenants"] and world.tenant_index(info["tenants"][1]) == 1
    name, site = next(iter(info["sites"].items()))
    assert isinstance(world.sites[name], Site) and world.sites[name].pe == site["pe"]
    assert world.hosts(site["tenant"]) == {h: ip for m in info["sites"].values() if m["tenant"] == site["tenant"]
                                           for h, ip in m["hosts"].items()}
    cloud = next(iter(info["clouds"]))
    assert world.clouds[cloud].servers.keys() == info["clouds"][cloud]["servers"].keys()
    assert world.underlay.p_routers() == [r for r in info["underlay"]["index"] if r not in info["underlay"]["pe_index"]]
    assert world.control.realization == "static" and world.lsp == info["lsp"]


OLD = {   # the shape state.json had before the world model: a VPC from `vpc create` had no near or acl
    "reasons": {"core": "first"}, "loopbacks": {"pe1": "100.127.255.1/32"},
    "underlay": {"index": {"pe1": 0}, "pe_index": {"pe1": 0}, "loopback": {"pe1": "100.127.255.1/32"},
                 "pools": {"loopbacks": "100.127.255.0/24"}, "next_hop": []},
    "sites": {"hq": {"tenant": "acme", "pe": "pe1", "vrf_node": "pe1", "subnet": "10.1.0.0/24", "gateway": "10.1.0.1",
                     "hosts": {"h1": "10.1.0.2"}, "access": {"pe": "100.65.0.1/30", "ce": "100.65.0.2/30"}}},
    "control": {"realization": "static"}, "tenants": ["acme"],
    "vpcs": {"lab": {"index": 0, "tenant": "acme", "type": "l3vpn", "subnet": "10.9.0.0/24", "sites": [],
                     "vlan": None, "placement": "first-fit", "vms": [], "port_security": False}},
    "from_a_newer_writer": {"kept": True},
}


def test_an_old_state_loads_and_keeps_what_it_does_not_know():
    world = World.from_info(OLD)
    assert world.vpcs["lab"].near is None and world.vpcs["lab"].acl is None
    assert world.sites["hq"].delay_ms == 0.0 and world.internet is None and world.lsp is None
    out = world.to_info()
    assert out["from_a_newer_writer"] == {"kept": True}
    assert "sites" in out and "clouds" not in out and "internet" not in out


def test_add_vpc_takes_the_next_index_and_keeps_near_and_acl():
    world = World.from_info(OLD)
    spec = VpcSpec.model_validate({"name": "web", "tenant": "acme", "type": "vpls", "sites": ["hq"], "near": "hq",
                                   "acl": {"default": "deny", "rules": []}})
    entry = world.add_vpc(spec)
    assert isinstance(entry, Vpc) and entry.index == 1 and entry.subnet == "10.1.0.0/24"
    assert entry.near == "hq" and entry.acl["default"] == "deny"


def test_pool_overlaps_name_the_pool():
    [problem] = World.from_info(OLD).pool_overlaps("VPC lab", "100.127.0.0/16")
    assert problem.message == "VPC lab: 100.127.0.0/16 overlaps the provider's loopbacks pool 100.127.255.0/24"


def test_an_empty_world_writes_only_what_plan_always_writes():
    assert World().to_info() == {"reasons": {}, "loopbacks": {}, "control": {"realization": "static"},
                                 "tenants": [], "vpcs": {}}
    assert World.of(World.from_info(OLD)).vpcs.keys() == {"lab"}
