"""Planning without root: realization choice, addresses, VRFs, MPLS and VXLAN wiring."""
from __future__ import annotations

import pytest

from cloudnet_emu.errors import SpecError, UnsupportedError
from cloudnet_emu.plan.actions import MplsRoute, OvsBridge, Route, Shape, Veth, Vrf, Vxlan
from cloudnet_emu.plan.build import build_plan
from cloudnet_emu.plan.choose import choose, parse_forced
from cloudnet_emu.probe import Feature
from cloudnet_emu.spec.load import load_topology

ALL = ["root", "ovs", "vrf", "vxlan", "bridge", "vlan_filtering", "8021q", "mpls", "mpls_iptunnel", "htb", "tbf",
       "netem", "ovs_kernel_datapath"]


def features(*missing):
    return {name: Feature(name not in missing, "test") for name in ALL}


REDUCED = features("vrf", "vlan_filtering", "8021q", "mpls", "mpls_iptunnel", "netem", "ovs_kernel_datapath")


@pytest.fixture(scope="module")
def topo():
    return load_topology("topologies/cloudnet.yaml")


def test_full_kernel_gets_first_choices(topo):
    c = choose(topo, features())
    assert c.realizations == {"router": "vrf", "core": "mpls", "datapath": "system", "control": "static"}
    assert c.degradations == [] and c.shaping_delay


def test_reduced_kernel_gets_fallbacks_and_needs_degrade(topo):
    with pytest.raises(UnsupportedError) as exc:
        choose(topo, REDUCED)
    assert any("pe1--p1: delay 2ms needs sch_netem" in m for m in exc.value.missing)
    assert any("--degrade" in m for m in exc.value.missing)
    c = choose(topo, REDUCED, degrade=True)     # no frr among these features: static
    assert c.realizations == {"router": "netns", "core": "vxlan", "datapath": "netdev", "control": "static"}
    assert len(c.degradations) == 9 and not c.shaping_delay


def test_forcing(topo):
    c = choose(topo, features(), parse_forced("router=netns,core=vxlan"))
    assert c.realizations["router"] == "netns" and c.realizations["core"] == "vxlan"
    assert c.reasons["router"].startswith("forced")
    with pytest.raises(UnsupportedError, match="router=vrf needs vrf"):
        choose(topo, REDUCED, parse_forced("router=vrf"), degrade=True)
    with pytest.raises(SpecError, match="unknown realization 'frr' for router"):
        parse_forced("router=frr")
    with pytest.raises(SpecError, match="unknown construct 'switch'"):
        parse_forced("switch=system")


def test_no_ovs_means_no_cloud_sites(topo):
    with pytest.raises(UnsupportedError, match="Open vSwitch"):
        choose(topo, features("ovs"))


def plan_for(topo, forced="", feats=None):
    return build_plan(topo, choose(topo, feats or features(), parse_forced(forced)))


def test_kernel_vrf_plan(topo):
    plan = plan_for(topo)
    vrfs = {(v.node, v.name, v.table) for v in plan.of(Vrf)}
    assert vrfs == {("pe1", "vrf-acme", 100), ("pe2", "vrf-acme", 100), ("pe1", "vrf-bravo", 101),
                    ("pe2", "vrf-bravo", 101)}
    unreachable = [r for r in plan.of(Route) if r.kind == "unreachable"]
    assert {(r.node, r.table) for r in unreachable} == {("pe1", 100), ("pe2", 100), ("pe1", 101), ("pe2", 101)}
    assert not [n for n in plan.nodes if n.kind == "vrf"]


def test_mpls_labels_swap_at_p_and_stack_at_ingress(topo):
    plan = plan_for(topo)
    # acme-hq (pe1) -> acme-br (pe2): pe1 pushes [p1's label for pe2, acme's VPN label at pe2]
    push = [r for r in plan.of(Route) if r.node == "pe1" and r.dst == "10.1.2.0/24" and r.table == 100]
    assert len(push) == 1 and len(push[0].labels) == 2
    transport, vpn = push[0].labels
    assert push[0].dev == "p1"
    assert vpn == plan.info["vpn"]["acme"]["vpn_labels"]["pe2"]
    # p1 swaps (no penultimate-hop popping) to pe2's own label for the LSP to pe2
    swap = [m for m in plan.of(MplsRoute) if m.node == "p1" and m.label == transport]
    assert len(swap) == 1 and swap[0].dev == "pe2" and len(swap[0].out) == 1 and swap[0].out[0] != transport
    # pe2 pops its transport label and then the VPN label into the VRF
    egress = {m.label: m for m in plan.of(MplsRoute) if m.node == "pe2"}
    assert egress[swap[0].out[0]].out == () and egress[swap[0].out[0]].dev == "lo"
    assert egress[vpn].dev == "vrf-acme" and egress[vpn].out == ()
    # the two tenants' VPN labels differ though their prefixes are the same
    assert plan.info["vpn"]["acme"]["vpn_labels"] != plan.info["vpn"]["bravo"]["vpn_labels"]


def test_vxlan_netns_plan(topo):
    plan = plan_for(topo, "router=netns,core=vxlan")
    vx = {(v.node, v.into, v.vni, v.peers) for v in plan.of(Vxlan)}
    assert vx == {("pe1", "pe1.acme", 10000, ("100.127.255.2",)), ("pe2", "pe2.acme", 10000, ("100.127.255.1",)),
                  ("pe1", "pe1.bravo", 10001, ("100.127.255.2",)), ("pe2", "pe2.bravo", 10001, ("100.127.255.1",))}
    routes = [r for r in plan.of(Route) if r.node == "pe1.acme" and r.dst == "10.1.2.0/24"]
    assert len(routes) == 1 and routes[0].dev == "vx-acme" and routes[0].via == "100.66.0.2"
    assert {n.name for n in plan.nodes if n.kind == "vrf"} == {"pe1.acme", "pe2.acme", "pe1.bravo", "pe2.bravo"}
    # the CE-facing end of each access link sits in the VRF namespace
    access = [v for v in plan.of(Veth) if v.role == "access"]
    assert {(v.a_node, v.b_node) for v in access} == {("acme-hq", "pe1.acme"), ("acme-br", "pe2.acme"),
                                                       ("bravo-hq", "pe1.bravo"), ("bravo-br", "pe2.bravo")}


def test_mpls_with_netns_vrfs_links_vrf_to_pe(topo):
    plan = plan_for(topo, "router=netns")
    links = [v for v in plan.of(Veth) if v.role == "vrf"]
    assert {(v.a_node, v.b_node) for v in links} == {("pe1", "pe1.acme"), ("pe2", "pe2.acme"), ("pe1", "pe1.bravo"),
                                                     ("pe2", "pe2.bravo")}
    push = [r for r in plan.of(Route) if r.node == "pe1.acme" and r.dst == "10.1.2.0/24"]
    assert len(push) == 1 and len(push[0].labels) == 1


def test_shortest_paths_and_loopbacks(topo):
    plan = plan_for(topo)
    # pe3 reaches pe4 directly (one hop), not through p1
    r = [x for x in plan.of(Route) if x.node == "pe3" and x.dst == "100.127.255.4/32"]
    assert len(r) == 1 and r[0].dev == "pe4"
    r = [x for x in plan.of(Route) if x.node == "pe1" and x.dst == "100.127.255.3/32"]
    assert r[0].dev == "p1"
    assert all(v.mtu == 9000 for v in plan.of(Veth) if v.role == "core")


def test_shaping_both_ends(topo):
    plan = plan_for(topo)
    shapes = [s for s in plan.of(Shape) if s.ifname in ("pe4", "pe3") and s.node in ("pe3", "pe4")]
    assert {(s.node, s.bw, s.delay_ms) for s in shapes} == {("pe3", 500, 10.0), ("pe4", 500, 10.0)}
    reduced = build_plan(topo, choose(topo, REDUCED, degrade=True))
    assert all(s.delay_ms == 0 and s.loss == 0 for s in reduced.of(Shape))


def test_cloud_sites_are_ovs(topo):
    plan = plan_for(topo)
    assert {(b.name, b.role, b.datapath) for b in plan.of(OvsBridge)} == {
        ("cnb-dc1", "site", "system"), ("cnb-dc1-s1", "server", "system"), ("cnb-dc1-s2", "server", "system"),
        ("cnb-dc2", "site", "system"), ("cnb-dc2-s1", "server", "system")}
    trunks = {(v.a_node, v.a_if, v.b_node, v.b_if) for v in plan.of(Veth) if v.role == "trunk"}
    assert trunks == {(None, "cnt-dc1-s1", None, "cns-dc1-s1"), (None, "cnt-dc1-s2", None, "cns-dc1-s2"),
                      (None, "cnt-dc2-s1", None, "cns-dc2-s1")}
    assert {n.name for n in plan.nodes if n.kind == "cloud-ce"} == {"dc1", "dc2"}


@pytest.mark.parametrize("missing, datapath, ovs_type, csum_off", [
    (("ovs_kernel_datapath", "ovs_userspace_tso"), "netdev", "netdev", True),
    (("ovs_kernel_datapath",), "netdev-tso", "netdev", False),
    ((), "system", "system", False),
])
def test_datapath_realization_sets_the_bridge_type_and_the_trunks_checksumming(topo, missing, datapath, ovs_type,
                                                                               csum_off):
    feats = features(*missing)
    feats["ovs_userspace_tso"] = Feature("ovs_userspace_tso" not in missing, "test")
    c = choose(topo, feats)
    assert c.realizations["datapath"] == datapath
    plan = build_plan(topo, c)
    assert {b.datapath for b in plan.of(OvsBridge)} == {ovs_type}
    assert {v.tx_csum_off for v in plan.of(Veth) if v.role == "trunk"} == {csum_off}
    assert not any(v.tx_csum_off for v in plan.of(Veth) if v.role != "trunk")     # no OVS end


def test_forcing_netdev_tso_where_ovs_has_no_tso_says_how_to_opt_in(topo):
    feats = features("ovs_kernel_datapath")
    feats["ovs_userspace_tso"] = Feature(False, "Open vSwitch's userspace TSO is off: to opt in, `ovs-vsctl ...`")
    with pytest.raises(UnsupportedError, match="datapath=netdev-tso needs ovs_userspace_tso .*to opt in"):
        choose(topo, feats, parse_forced("datapath=netdev-tso"))


def test_plan_is_deterministic_across_processes():
    """The same topology plans the same actions in any interpreter, whatever its hash seed:
    no set or dict iteration order leaks into names, addresses or the order things are built."""
    import hashlib
    import os
    import subprocess
    import sys
    code = ("import hashlib, tests.unit.plan.test_plan as t; "
            "print(hashlib.sha256(repr(t.plan_for(t.load_topology('topologies/cloudnet.yaml')).actions)"
            ".encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env=dict(os.environ, PYTHONHASHSEED=seed)).stdout.strip() for seed in ("1", "2", "3")}
    assert len(digests) == 1 and len(next(iter(digests))) == len(hashlib.sha256().hexdigest())


def test_l3vpn_vxlan_devices_have_a_mac_of_their_own_that_survives_a_rebuild(topo):
    """The other PEs' neighbour entries for a PE's transit address name this MAC: it is derived from
    the tenant and the address, so a rebuilt device (the VPC came back to the site) answers to it."""
    reduced = choose(topo, REDUCED, degrade=True)
    devs = [v for v in build_plan(topo, reduced).of(Vxlan) if v.name.startswith("vx-")]
    again = [v for v in build_plan(topo, reduced).of(Vxlan) if v.name.startswith("vx-")]
    assert devs and all(v.mac and v.mac.startswith("02:") for v in devs)
    assert [v.mac for v in devs] == [v.mac for v in again]
    assert len({v.mac for v in devs}) == len(devs)
