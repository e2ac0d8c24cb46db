"""The Cloud Manager's decisions, on paper: placement and its refusals, addresses, MACs, VLANs,
the logical CE and endpoint of a VPC's first VM in a site, detach, port security, a migration's plan."""
from __future__ import annotations

import copy

import pytest

from cloudnet_emu import naming
from cloudnet_emu.errors import PlacementError, StateError
from cloudnet_emu.managers import ledger, port_security
from cloudnet_emu.plan.actions import Adopt, ForgetMac, Node, OvsFlows, OvsPort, Route, Veth

from .conftest import OnPaper


def test_first_fit_fills_the_first_server_of_the_site(world):
    a = world.cloud.attach("bravo-vpc", site="dc1", vcpus=10, mem_mb=1024, name="a")
    b = world.cloud.attach("bravo-vpc", site="dc1", vcpus=10, mem_mb=1024, name="b")
    assert (a["server"], b["server"]) == ("dc1-s1", "dc1-s2")       # 16 vCPU each: b does not fit beside a
    assert world.cloud.free("dc1-s1") == (6, 32768 - 1024)


def test_free_capacity_follows_attach_detach_and_migration(world):
    full = (16, 32768)
    assert world.cloud.free("dc1-s1") == full
    world.cloud.attach("bravo-vpc", site="dc1", server="dc1-s1", vcpus=4, mem_mb=1024, name="a")
    world.cloud.attach("bravo-vpc", site="dc1", server="dc1-s1", vcpus=2, mem_mb=512, name="b")
    assert world.cloud.free("dc1-s1") == (10, 32768 - 1536)
    assert world.cloud.free("dc1-s1", exclude="a") == (14, 32768 - 512)
    world.cloud.detach("b")
    assert world.cloud.free("dc1-s1") == (12, 32768 - 1024)
    plan = world.cloud.move_prepare(world.cloud.move_plan({"vm": "a", "to_site": "dc2"}))
    world.cloud.move_switch(plan)
    dc2 = world.cloud.servers()["dc2-s1"]
    moved = (dc2["vcpus"] - 4, dc2["mem_mb"] - 1024)
    assert (world.cloud.free("dc1-s1"), world.cloud.free("dc2-s1")) == (full, moved)
    world.reopen()              # the next CLI call reads the same from the ledger
    assert (world.cloud.free("dc1-s1"), world.cloud.free("dc2-s1")) == (full, moved)


def test_servers_is_a_copy_callers_may_change(world):
    world.cloud.servers()["dc1-s1"]["vcpus"] = 0
    assert world.cloud.servers()["dc1-s1"]["vcpus"] == 16 and world.cloud.free("dc1-s1") == (16, 32768)


def test_best_and_worst_fit_choose_by_what_is_left(world):
    world.cloud.attach("bravo-vpc", site="dc1", server="dc1-s1", vcpus=8, name="pin")
    best = world.cloud.place("bravo-vpc", "dc1", None, 4, 512, "best-fit")
    worst = world.cloud.place("bravo-vpc", "dc1", None, 4, 512, "worst-fit")
    assert (best, worst) == ("dc1-s1", "dc1-s2")


def test_nearest_picks_the_cloud_site_with_the_lowest_declared_delay(world):
    # from bravo-hq (pe1): dc2 behind pe4 (p1 3 ms) beats dc1 behind pe3 (p1 5 ms)
    assert world.cloud.place("bravo-vpc", None, None, 1, 512, "nearest") == "dc2-s1"
    assert world.cloud.wan_delay("bravo-vpc", "dc1") > world.cloud.wan_delay("bravo-vpc", "dc2")


def test_placement_refusals_say_why_and_build_nothing(world):
    with pytest.raises(PlacementError, match="no server 'nope'"):
        world.cloud.attach("bravo-vpc", server="nope")
    with pytest.raises(PlacementError, match="dc1-s1' is in dc1, not dc2"):
        world.cloud.attach("bravo-vpc", site="dc2", server="dc1-s1")
    with pytest.raises(PlacementError, match="no cloud site 'dc9'"):
        world.cloud.attach("bravo-vpc", site="dc9")
    with pytest.raises(PlacementError, match="biggest free slot is dc2-s1 with 32 vCPU"):
        world.cloud.attach("bravo-vpc", site="dc2", vcpus=33)
    with pytest.raises(PlacementError, match="unknown placement policy"):
        world.cloud.attach("bravo-vpc", policy="random")
    with pytest.raises(StateError, match="no VPC 'nope-vpc'"):
        world.cloud.attach("nope-vpc")
    assert world.paper.log == [] and world.cloud.vms() == []


def test_names_are_checked_and_generated(world):
    assert world.cloud.attach("bravo-vpc", site="dc1")["name"] == "vm1"
    with pytest.raises(PlacementError, match="taken by a node"):
        world.cloud.attach("bravo-vpc", name="pe1")
    with pytest.raises(PlacementError, match="lower-case letters"):
        world.cloud.attach("bravo-vpc", name="Web_1")


def test_l3vpn_addresses_from_the_bottom_behind_the_gateway(world):
    a = world.cloud.attach("bravo-vpc", site="dc1", name="a")
    b = world.cloud.attach("bravo-vpc", site="dc1", name="b")
    assert (a["gateway"], a["ip"], b["ip"], a["prefixlen"]) == ("10.1.100.1", "10.1.100.2", "10.1.100.3", 24)
    with pytest.raises(PlacementError, match="already taken by a"):
        world.cloud.attach("bravo-vpc", site="dc1", ip="10.1.100.2")
    with pytest.raises(PlacementError, match="not a host address"):
        world.cloud.attach("bravo-vpc", site="dc1", ip="10.1.100.255")


def test_vpls_addresses_from_the_top_of_the_enterprise_lan(world):
    vm = world.cloud.attach("acme-vpc", site="dc1", name="app")
    assert (vm["ip"], vm["gateway"]) == ("10.1.1.254", "10.1.1.1")


def test_macs_are_stable_and_unique(world):
    a = world.cloud.attach("bravo-vpc", site="dc1", name="a", mac="02:00:00:00:00:0a")
    with pytest.raises(PlacementError, match="already used by a"):
        world.cloud.attach("bravo-vpc", site="dc1", name="b", mac=a["mac"])
    with pytest.raises(PlacementError, match="lower case"):
        world.cloud.attach("bravo-vpc", site="dc1", name="b", mac="02:00:00:00:00:0A")
    assert world.cloud._mac("c", None) == world.cloud._mac("c", None) != world.cloud._mac("d", None)


def test_vlans_per_site_from_100_and_kept_while_the_vpc_is_there(world):
    a = world.cloud.attach("bravo-vpc", site="dc1", name="a")
    b = world.cloud.attach("acme-vpc", site="dc1", name="b")
    c = world.cloud.attach("acme-vpc", site="dc2", name="c")
    d = world.cloud.attach("bravo-vpc", site="dc1", name="d")
    assert (a["vlan"], b["vlan"], c["vlan"], d["vlan"]) == (100, 101, 100, 100)
    world.cloud.detach("a")
    world.cloud.detach("d")
    assert world.cloud.data["vlans"]["dc1"] == {"acme-vpc": 101}       # the last VM out frees the VLAN
    assert world.cloud.attach("bravo-vpc", site="dc1", name="e")["vlan"] == 100


def test_first_vm_builds_the_vm_port_logical_ce_and_endpoint(world):
    vm = world.cloud.attach("bravo-vpc", site="dc1", server="dc1-s2", name="web")
    assert vm["reused_lce"] is False and set(vm["steps_ms"]) == {"vm", "vlan", "lce", "vpn", "total"}
    assert Node("web", "vm", site="dc1", tenant="bravo") in world.paper.applied(Node)
    veth = next(a for a in world.paper.applied(Veth) if a.role == "vm")
    assert (veth.a_node, veth.b_if, veth.a_addr, veth.a_mac) == ("web", "cnv-web", "10.1.100.2/24", vm["mac"])
    port = next(a for a in world.paper.applied(OvsPort) if a.name == "cnv-web")
    assert (port.bridge, port.tag) == (naming.bridge("dc1-s2"), 100)
    gateway = [a for a in world.paper.applied(Veth) if a.role == "handoff" and a.a_if == "t100"]
    assert len(gateway) == 1 and gateway[0].a_addr == "10.1.100.1/24" and gateway[0].proxy_arp
    adopt = world.paper.applied(Adopt)
    assert len(adopt) == 1 and adopt[0].name == "dc1.100" and adopt[0].node == "pe3"
    ep = world.cloud.ledger.meta("lce:dc1/bravo-vpc")["endpoint"]
    assert ep["pe"] == "pe3" and ep["pe_if"] == "dc1.100"
    host = [r for r in world.paper.applied(Route) if r.dst == "10.1.100.2/32"]
    assert host and all(r.node in ("pe1", "pe2", "pe3", "pe4") for r in host)


@pytest.mark.parametrize("datapath, csum_off", [("netdev", True), ("netdev-tso", False), ("system", False)])
def test_vm_and_handoff_veths_turn_tx_checksumming_off_only_on_the_userspace_datapath_without_tso(
        figure1_record, tmp_path, monkeypatch, datapath, csum_off):
    monkeypatch.setattr(ledger, "STATE_ROOT", str(tmp_path))
    record = copy.deepcopy(figure1_record)
    record["realizations"]["datapath"] = datapath
    w = OnPaper(record)
    w.cloud.attach("bravo-vpc", site="dc1", name="web")     # L3VPN: VM port and the logical CE's two legs
    w.cloud.attach("acme-vpc", site="dc1", name="lan")      # VPLS: VM port and the cable to the PE
    veths = [a for a in w.paper.applied(Veth) if a.role in ("vm", "handoff")]
    assert len(veths) == 5 and {v.tx_csum_off for v in veths} == {csum_off}


def test_second_vm_reuses_the_logical_ce(world):
    world.cloud.attach("bravo-vpc", site="dc1", name="a")
    world.paper.clear()
    b = world.cloud.attach("bravo-vpc", site="dc1", name="b")
    assert b["reused_lce"] is True and world.paper.applied(Adopt) == []
    assert world.cloud.ledger.units["lce:dc1/bravo-vpc"]["users"] == ["a", "b"]


def test_detach_undoes_exactly_what_attach_applied_and_forgets_the_mac(world):
    vm = world.cloud.attach("bravo-vpc", site="dc1", name="a")
    applied = [a for a in world.paper.applied() if not isinstance(a, Node)]
    world.paper.clear()
    world.reopen()                  # a later CLI call: everything from the ledgers
    world.cloud.detach("a")
    undone = world.paper.undone()
    assert set(a for a in applied if not isinstance(a, Route) or a.dst != "0.0.0.0/0") <= set(undone)
    forgot = world.paper.applied(ForgetMac)
    assert len(forgot) == 1 and forgot[0].mac == vm["mac"]
    assert (naming.bridge("dc1"), 100) in forgot[0].places and (naming.bridge("dc1-s2"), 100) in forgot[0].places
    assert world.cloud.vms() == [] and world.cloud.ledger.units == {}
    assert list(world.network.ledger.units) == ["vpls:acme-vpc@pe1"]      # the VPLS VPC's enterprise side, not a's
    with pytest.raises(StateError, match="no VM 'a'"):
        world.cloud.detach("a")


def test_a_failed_attach_leaves_nothing(world, monkeypatch):
    def refuse(message):
        raise StateError("the PE said no")
    monkeypatch.setattr(world.network, "endpoint", refuse)
    with pytest.raises(StateError, match="the PE said no"):
        world.cloud.attach("bravo-vpc", site="dc1", name="a")
    assert world.cloud.vms() == [] and world.cloud.ledger.units == {}
    built = {a for a in world.paper.applied() if not isinstance(a, ForgetMac)}     # forgetting leaves nothing
    assert built and built <= set(world.paper.undone())


def test_port_security_rules_are_a_unit_of_the_vm(world):
    world.cloud.world.vpcs["bravo-vpc"].port_security = True
    vm = world.cloud.attach("bravo-vpc", site="dc1", server="dc1-s1", name="a")
    flows = world.paper.applied(OvsFlows)
    assert flows == port_security.actions(vm) and flows[0].bridge == naming.bridge("dc1-s1")
    assert world.cloud.ledger.has(port_security.unit("a"))
    world.cloud.detach("a")
    assert world.paper.undone(OvsFlows) == flows


def test_bulk_attach_secures_ports_after_the_transaction(world):
    world.cloud.world.vpcs["bravo-vpc"].port_security = True
    with world.cloud.ledger.bulk():
        world.cloud.attach("bravo-vpc", site="dc1", name="a")
        assert world.paper.applied(OvsFlows) == []        # the port does not exist yet
    assert port_security.secure_all(world.cloud) == 1 and len(world.paper.applied(OvsFlows)) == 1


def test_a_migration_plan_decides_before_anything_moves(world):
    world.cloud.attach("bravo-vpc", site="dc1", server="dc1-s1", vcpus=16, name="big")
    world.paper.clear()
    # the VM is not counted against itself: its own server is the only one with room, yet it fits
    plan = world.cloud.move_plan({"vm": "big", "to_site": "dc1", "to_server": "dc1-s2"})
    assert (plan["src_server"], plan["dst_server"], plan["mem_mb"]) == ("dc1-s1", "dc1-s2", 512)
    plan = world.cloud.move_plan({"vm": "big", "to_site": "dc2"})
    assert (plan["dst_site"], plan["dst_server"], plan["vlan"]) == ("dc2", "dc2-s1", None)
    assert plan["precopy_to"] == world.cloud.world.clouds["dc2"].wan.split("/")[0]
    assert world.paper.log == [] and world.cloud.data["vms"]["big"]["vcpus"] == 16
    with pytest.raises(PlacementError, match="already in dc1 on dc1-s1"):
        world.cloud.move_plan({"vm": "big", "to_site": "dc1"})
    world.cloud.attach("bravo-vpc", site="dc2", vcpus=20, name="fill")
    with pytest.raises(PlacementError, match="has 16 vCPU and 512 MB free .* dc2-s1 with 12 vCPU"):
        world.cloud.move_plan({"vm": "big", "to_site": "dc2"})
    assert world.cloud.data["vms"]["big"]["site"] == "dc1"


def test_a_migration_moves_the_port_and_the_host_route_then_leaves_the_site(world):
    world.cloud.attach("bravo-vpc", site="dc1", server="dc1-s1", name="app")
    world.paper.clear()
    plan = world.cloud.move_prepare(world.cloud.move_plan({"vm": "app", "to_site": "dc2"}))
    assert plan["vlan"] == 100 and world.cloud.data["vms"]["app"]["migration"]["phase"] == "prepare"
    assert [a.name for a in world.paper.applied(Adopt)] == ["dc2.100"]       # the endpoint at pe4
    world.paper.clear()
    world.cloud.move_switch(plan)
    assert [p.name for p in world.paper.undone(OvsPort)] == ["cnv-app"]
    port = world.paper.applied(OvsPort)
    assert [(p.bridge, p.tag) for p in port] == [(naming.bridge("dc2-s1"), 100)]
    withdrawn = [r for r in world.paper.undone(Route) if r.dst == "10.1.100.2/32"]
    advertised = [r for r in world.paper.applied(Route) if r.dst == "10.1.100.2/32"]
    assert withdrawn and advertised
    vm = world.cloud.data["vms"]["app"]
    assert (vm["site"], vm["server"]) == ("dc2", "dc2-s1")
    assert world.network.ledger.meta("host:bravo-vpc/10.1.100.2")["pe"] == "pe4"
    assert world.cloud.move_finish(plan) == {"reservations": [], "reservations_error": None}
    assert not world.cloud.ledger.has("lce:dc1/bravo-vpc")
    assert "bravo-vpc" not in world.cloud.data["vlans"].get("dc1", {})
    assert not world.network.ledger.has("ep:bravo-vpc@dc1")
    world.cloud.move_end("app")
    assert "migration" not in world.cloud.data["vms"]["app"]
