"""The Network Manager's decisions, on paper: L3VPN and VPLS endpoints (attachment addresses, the
VPN the PE joins), host routes, release, forgetting a MAC, reservation admission."""
from __future__ import annotations

import copy
import ipaddress
import json

import pytest

from cloudnet_emu import naming
from cloudnet_emu.errors import AdmissionError, StateError
from cloudnet_emu.managers import ledger, reserving
from cloudnet_emu.managers.messages import EndpointRequest, ReleaseRequest, wire
from cloudnet_emu.managers.network import ACCESS_BASE
from cloudnet_emu.plan import addressing
from cloudnet_emu.plan.actions import (AclTable, Adopt, BestEffort, FdbAppend, FdbForget, FibWait, FrrRouter, MplsRoute,
                                        Route, Veth, Vxlan)

from .conftest import OnPaper


def l3vpn_request(site="dc1", pe="pe3", vlan=100) -> dict:
    return wire(EndpointRequest("bravo-vpc", "bravo", "l3vpn", site, pe, vlan, f"cnh-{site}", subnet="10.1.100.0/24"))


def vpls_request(site="dc1", pe="pe3", vlan=100) -> dict:
    return wire(EndpointRequest("acme-vpc", "acme", "vpls", site, pe, vlan, f"cnh-{site}", join_site="acme-hq"))


def test_l3vpn_endpoint_adopts_the_cable_and_addresses_the_attachment(world):
    reply = world.network.endpoint(l3vpn_request())
    pe_addr, ce_addr = addressing.p2p(world.network.u.pools["access"], ACCESS_BASE)
    assert (reply["pe_if"], reply["pe_addr"], reply["ce_addr"]) == ("dc1.100", pe_addr, ce_addr)
    assert ipaddress.ip_interface(pe_addr).network == ipaddress.ip_interface(ce_addr).network
    adopt = world.paper.applied(Adopt)
    assert [(a.node, a.ifname, a.name, a.addr) for a in adopt] == [("pe3", "cnh-dc1", "dc1.100", pe_addr)]
    assert adopt[0].master == "vrf-bravo"          # the tenant's VRF, made on pe3 for this endpoint
    assert world.network.ledger.has("vrf:pe3/bravo") and world.network.ledger.has("member:pe3/bravo")
    # pe3 joins bravo's VPN: its VPN label pops into the VRF, and it reaches both enterprise subnets
    assert [(m.node, m.dev) for m in world.paper.applied(MplsRoute)] == [("pe3", "vrf-bravo")]
    labelled = {r.dst for r in world.paper.applied(Route) if r.node == "pe3" and len(r.labels) == 2}
    assert labelled == {"10.1.1.0/24", "10.1.2.0/24"} and reply["vpn"]


def test_a_second_endpoint_gets_the_next_attachment_and_a_duplicate_is_refused(world):
    world.network.endpoint(l3vpn_request())
    second = world.network.endpoint(l3vpn_request("dc2", "pe4", 100))
    assert second["pe_addr"] == addressing.p2p(world.network.u.pools["access"], ACCESS_BASE + 1)[0]
    with pytest.raises(StateError, match="already has an endpoint in dc1"):
        world.network.endpoint(l3vpn_request())


def test_host_routes_go_to_every_pe_of_the_tenant_and_come_back(world):
    reply = world.network.endpoint(l3vpn_request())
    world.paper.clear()
    assert world.network.advertise({"vpc": "bravo-vpc", "site": "dc1", "ip": "10.1.100.7"}) == \
        {"advertised": "10.1.100.7/32", "pe": "pe3"}
    routes = world.paper.applied(Route)
    local = [r for r in routes if r.node == "pe3"]
    assert [(r.dst, r.via, r.dev) for r in local] == [("10.1.100.7/32", reply["ce_addr"].split("/")[0], "dc1.100")]
    assert {r.node for r in routes} >= {"pe1", "pe2"}
    world.paper.clear()
    world.network.withdraw({"vpc": "bravo-vpc", "ip": "10.1.100.7"})
    assert set(world.paper.undone(Route)) == set(routes)


def test_release_takes_the_endpoint_its_membership_and_its_address(world):
    world.network.endpoint(l3vpn_request())
    assert world.network.release(wire(ReleaseRequest("bravo-vpc", "dc1"))) == {"released": True}
    assert not world.network.ledger.has("ep:bravo-vpc@dc1") and not world.network.ledger.has("member:pe3/bravo")
    assert world.network.ledger.data["access"] == {}
    assert world.network.release(wire(ReleaseRequest("bravo-vpc", "dc1"))) == {"released": False}
    assert set(world.paper.applied()) == set(world.paper.undone())          # everything it built, undone


def test_a_vpls_vpc_brings_its_enterprise_side_and_an_endpoint_adds_the_cloud_pe(world):
    # the enterprise side came with the VPC (the fixture provisions as `up` does), held by the VPC
    assert world.network.ledger.units["vpls:acme-vpc@pe1"]["users"] == ["vpc:acme-vpc"]
    reply = world.network.endpoint(vpls_request())
    assert reply["vpn"]["pes"] == ["pe1", "pe3"] and reply["pe_if"] == "dc1.100"
    assert world.network.ledger.has("vpls:acme-vpc@pe3")
    assert [v for v in world.paper.applied(Veth) if v.role == "vpls"] == []     # the LAN was wired with the VPC
    adopt = world.paper.applied(Adopt)
    assert [(a.node, a.master) for a in adopt] == [("pe3", naming.vpls_bridge("acme-vpc"))]
    world.network.endpoint(vpls_request("dc2", "pe4"))
    assert world.network.ledger.units["vpls:acme-vpc@pe1"]["users"] == ["vpc:acme-vpc"]    # no endpoint's


def test_the_enterprise_side_outlives_every_endpoint_and_goes_with_the_vpc(world):
    world.network.endpoint(vpls_request())
    world.network.release(wire(ReleaseRequest("acme-vpc", "dc1")))
    assert list(world.network.ledger.units) == ["vpls:acme-vpc@pe1"]
    # pe3's instance goes, and (the core being static) pe3's entry in pe1's flood list; the LAN stays wired
    assert {(_where(a), type(a).__name__) for a in world.paper.undone()} == \
        {("pe3", "Adopt"), ("pe3", "Bridge"), ("pe3", "Vxlan"), ("pe1", "FdbAppend")}
    world.paper.clear()
    assert world.network.unprovision({"vpc": "acme-vpc"}) == {"unprovisioned": True}
    assert world.network.ledger.units == {}
    lan = [v for v in world.paper.undone(Veth) if v.role == "vpls"]
    assert [(v.a_node, v.a_if, v.b_node) for v in lan] == [("acme-hq", "v-acme-vpc", "pe1")]


def test_forget_names_every_bridge_the_mac_may_be_on(world):
    world.network.endpoint(vpls_request())
    world.paper.clear()
    world.network.forget({"vpc": "acme-vpc", "mac": "02:00:00:00:00:01"})
    assert sorted(world.paper.applied(FdbForget), key=lambda f: f.node) == [
        FdbForget("acme-hq", "lan", "02:00:00:00:00:01"),
        FdbForget("pe1", naming.vpls_bridge("acme-vpc"), "02:00:00:00:00:01"),
        FdbForget("pe3", naming.vpls_bridge("acme-vpc"), "02:00:00:00:00:01")]
    assert world.paper.undone() == []


def test_reservation_admission_counts_against_the_link_and_refuses_what_does_not_fit(world):
    world.cloud.attach("bravo-vpc", site="dc1", name="db")
    ok = world.cloud.network("reserve", dict(world_request(world, 60), dry_run=True))
    assert ok["hops"] and all(isinstance(h, str) for hops in ok["hops"] for h in hops)
    with pytest.raises(AdmissionError, match="bravo-h1|bravo-hq|free"):
        world.cloud.network("reserve", dict(world_request(world, 150), dry_run=True))
    assert world.network.book.names() == []


def world_request(world, bw: float) -> dict:
    return reserving.request(world.cloud, "r1", "bravo-vpc", between=["db", "bravo-h1"], bw=bw)


def test_access_rules_are_one_table_action_per_namespace_and_leave_with_the_last_endpoint(world):
    world.cloud.attach("bravo-vpc", site="dc1", name="proc")
    world.cloud.attach("bravo-vpc", site="dc2", name="db")
    world.paper.clear()
    rules = {"default": "allow", "rules": [{"name": "db-proc", "from": "proc", "to": "db", "proto": "tcp",
                                            "port": 5432, "action": "allow"}]}
    assert world.network.acl({"vpc": "bravo-vpc", "acl": rules})["pes"] == ["pe1", "pe2", "pe3", "pe4"]
    tables = {t.node: t for t in world.paper.applied(AclTable)}
    assert sorted(tables) == ["pe1", "pe2", "pe3", "pe4"]       # kernel VRFs: the PE's own namespace
    assert all(t.vrfs == (("bravo", "vrf-bravo"),) for t in tables.values())
    vpc = json.loads(tables["pe3"].vpcs[0])
    assert (vpc["name"], vpc["subnet"]) == ("bravo-vpc", "10.1.100.0/24")
    assert len(vpc["resolved"]["proc"]) == 1 and vpc["resolved"]["proc"][0].endswith("/32")
    world.paper.clear()
    world.network.acl({"vpc": "bravo-vpc", "acl": None})
    assert {(t.node, t.vpcs) for t in world.paper.applied(AclTable)} == {(pe, ()) for pe in tables}
    assert world.paper.undone() == []


def test_a_reservation_leaves_the_rest_of_each_link_to_best_effort(world):
    world.cloud.attach("bravo-vpc", site="dc1", name="db")
    world.paper.clear()
    meta = world.cloud.network("reserve", world_request(world, 40))
    best = world.paper.applied(BestEffort)
    assert {(b.node, b.dev) for b in best} == {(h["node"], h["dev"]) for h in meta["hops"]}
    assert all(b.rate == b.ceil - 40 for b in best)
    world.paper.clear()
    world.network.unreserve({"name": "r1"})
    assert all(b.rate == b.ceil for b in world.paper.applied(BestEffort))


def test_under_bgp_a_vpls_instance_is_an_evpn_vni_made_at_its_own_pe_only(bgp_world):
    bgp_world.network.endpoint(vpls_request())
    # the first attach too is the cloud PE's business alone: the enterprise side (pe1) came with the VPC
    assert {_where(a) for a in bgp_world.paper.applied()} == {"pe3"}
    assert [(v.node, v.peers, v.learning) for v in bgp_world.paper.applied(Vxlan)] == [("pe3", (), False)]
    bgp_world.paper.clear()
    bgp_world.network.endpoint(vpls_request("dc2", "pe4"))
    # the newcomer is pe4's business alone: nothing at pe1 or pe3, no flood entry anywhere (FRR's type-3)
    assert {_where(a) for a in bgp_world.paper.applied()} == {"pe4"}
    assert bgp_world.paper.applied(FdbAppend) == []
    assert [(v.node, v.peers, v.learning) for v in bgp_world.paper.applied(Vxlan)] == [("pe4", (), False)]


def test_under_static_the_newcomer_is_greeted_at_every_other_pe(world):
    world.network.endpoint(vpls_request())
    world.paper.clear()
    world.network.endpoint(vpls_request("dc2", "pe4"))
    assert sorted(f.node for f in world.paper.applied(FdbAppend)) == ["pe1", "pe3"]
    assert [(v.node, v.peers, v.learning) for v in world.paper.applied(Vxlan)] == \
        [("pe4", ("100.127.255.1", "100.127.255.3"), True)]


def _where(action) -> str:
    """The node an action is applied in (a Node action: the node it makes)."""
    return getattr(action, "node", None) or getattr(action, "a_node", None) or action.name


def test_under_bgp_an_l3vpn_endpoint_is_built_at_its_own_pe_and_waits_for_the_remote_fibs(bgp_netns_world):
    w = bgp_netns_world
    assert (w.record["realizations"]["router"], w.record["realizations"]["core"]) == ("netns", "vxlan")
    w.network.endpoint(l3vpn_request())
    # pe3's VRF, its transit (bridge + VXLAN in pe3, a veth into the VRF) and the VRF's own FRR: pe3 only
    assert {_where(a) for a in w.paper.applied()} == {"pe3", "pe3.bravo"}
    assert w.paper.applied(FdbAppend) == [] and [r.node for r in w.paper.applied(Route)] == ["pe3.bravo"]
    frr = w.paper.applied(FrrRouter)
    assert [(f.node, [d for d, _ in f.configs]) for f in frr] == [("pe3.bravo", ["zebra", "bgpd"])]
    bgpd = dict(frr[0].configs)["bgpd"]
    # explicit sessions to the members that exist (pe1, pe2), later ones accepted from the transit subnet
    assert " neighbor 100.66.1.1 peer-group tenant" in bgpd and " neighbor 100.66.1.2 peer-group tenant" in bgpd
    assert " bgp listen range 100.66.1.0/24 peer-group tenant" in bgpd
    w.paper.clear()
    w.network.advertise({"vpc": "bravo-vpc", "site": "dc1", "ip": "10.1.100.7"})
    assert [(r.node, r.dst) for r in w.paper.applied(Route)] == [("pe3.bravo", "10.1.100.7/32")]
    # step 4 ends when the other PEs' VRFs route it via pe3's transit address in their kernels
    assert w.paper.applied(FibWait) == [FibWait(("pe1.bravo", "pe2.bravo"), "10.1.100.7/32", "100.66.1.3")]
    # a second cloud PE: pe4 alone again, and pe3 is among the members it names
    w.paper.clear()
    w.network.endpoint(l3vpn_request("dc2", "pe4"))
    assert {_where(a) for a in w.paper.applied()} == {"pe4", "pe4.bravo"}
    assert " neighbor 100.66.1.3 peer-group tenant" in dict(w.paper.applied(FrrRouter)[0].configs)["bgpd"]
    # release of dc1: pe3's membership (its VRF's FRR, its transit) goes with it, though dc2 stays
    w.paper.clear()
    w.network.release(wire(ReleaseRequest("bravo-vpc", "dc1")))
    assert [a.node for a in w.paper.undone(FrrRouter)] == ["pe3.bravo"]
    assert not w.network.ledger.has("member:pe3/bravo") and w.network.ledger.has("member:pe4/bravo")
    assert {_where(a) for a in w.paper.undone()} == {"pe3", "pe3.bravo"}


def test_under_bgp_attach_says_apart_how_long_the_remote_fibs_took(bgp_netns_world, world):
    vm = bgp_netns_world.cloud.attach("bravo-vpc", site="dc1", name="x", mem_mb=16)
    assert "propagated" in vm["steps_ms"] and vm["steps_ms"]["propagated"] <= vm["steps_ms"]["vpn"]
    assert [w.nodes for w in bgp_netns_world.paper.applied(FibWait)] == [("pe1.bravo", "pe2.bravo")]
    static = world.cloud.attach("bravo-vpc", site="dc1", name="x", mem_mb=16)
    assert "propagated" not in static["steps_ms"] and world.paper.applied(FibWait) == []


def test_under_vpnv4_an_l3vpn_endpoint_is_its_vrf_at_its_own_pe_and_no_label(vpnv4_world):
    """MPLS core under bgp: pe3's bgpd already has bravo's VRF instance, so the endpoint is the VRF
    device and the attachment at pe3, no label anywhere; the VM's /32 is a route in pe3's VRF, and
    step 4 waits until pe1's and pe2's VRF tables route it with a label stack."""
    w = vpnv4_world
    assert (w.record["realizations"]["router"], w.record["realizations"]["core"]) == ("vrf", "mpls")
    w.network.endpoint(l3vpn_request())
    assert {_where(a) for a in w.paper.applied()} == {"pe3"}
    assert w.paper.applied(MplsRoute) == [] and [r for r in w.paper.applied(Route) if r.labels] == []
    w.paper.clear()
    w.network.advertise({"vpc": "bravo-vpc", "site": "dc1", "ip": "10.1.100.7"})
    assert [(r.node, r.dst, r.table) for r in w.paper.applied(Route)] == [("pe3", "10.1.100.7/32", 101)]
    assert w.paper.applied(FibWait) == [FibWait(("pe1", "pe2"), "10.1.100.7/32", None, vrf="vrf-bravo")]


def test_a_vrf_made_at_attach_is_released_after_its_membership_even_once_reloaded():
    from cloudnet_emu.managers.network import release_order
    # as the ledger reloads them: sorted by name, "member:" before "vrf:"
    units = {"member:pe3/acme": {"nodes": []}, "vrf:pe3/acme": {"nodes": [{"name": "pe3.acme"}]},
             "host:atk-sec/10.254.0.2": {"nodes": []}}
    order = release_order(units, list(units))
    assert order.index("member:pe3/acme") < order.index("vrf:pe3/acme")
    assert order[-1] == "vrf:pe3/acme"
    # in insertion order (one process) the newest unit without namespaces still goes first
    assert release_order(units, ["vrf:pe3/acme", "member:pe3/acme", "host:atk-sec/10.254.0.2"]) == \
        ["host:atk-sec/10.254.0.2", "member:pe3/acme", "vrf:pe3/acme"]


def test_under_bgp_an_ebgp_ce_of_the_tenant_is_waited_for_too(figure1_bgp_record, tmp_path, monkeypatch):
    """A site routing by eBGP learns the VM's /32 from its VRF, one bgpd hop after the VRF: step 4
    lasts until that CE routes it via its PE too (the other CEs have a static default)."""
    monkeypatch.setattr(ledger, "STATE_ROOT", str(tmp_path))
    record = copy.deepcopy(figure1_bgp_record)
    record["info"]["sites"]["bravo-hq"]["routing"] = "bgp"
    w = OnPaper(record)
    w.network.endpoint(l3vpn_request())
    w.paper.clear()
    w.network.advertise({"vpc": "bravo-vpc", "site": "dc1", "ip": "10.1.100.7"})
    assert w.paper.applied(FibWait) == [FibWait(("pe1.bravo", "pe2.bravo"), "10.1.100.7/32", "100.66.1.3"),
                                        FibWait(("bravo-hq",), "10.1.100.7/32", "100.65.0.9")]
