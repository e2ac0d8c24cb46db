"""Sabotage: break the world on purpose in the way each attack case exists to catch, and the case
turns red with the right reason; beside each, the intact world is green.

The cable and route sabotages use the VRF namespaces of the native realization (router netns);
one Figure 1 testbed serves the module: every sabotage is undone in a finally, and the attack's
MACs are removed after each VM case, so the next test starts from the intact world.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager

import pytest

from cloudnet_emu import attack, naming
from cloudnet_emu.attack import arp, flap as flap_case, reconverge, run_case, vlan
from cloudnet_emu.attack.actors import Actors
from cloudnet_emu.attack.packets import marker_control
from cloudnet_emu.attack.tools import Control, Env, Watch, inject, marker_bpf, observe
from cloudnet_emu.attack.result import Result
from cloudnet_emu.kernel import ns
from cloudnet_emu.managers import flap, port_security
from cloudnet_emu.realize.executor import Realizer
from cloudnet_emu.verdict import Status

pytestmark = pytest.mark.control("static")     # sabotages of the planner-written world; under bgp: test_attack_bgp.py


@pytest.fixture(scope="module")
def world(figure1):
    if figure1["realizations"]["router"] != "netns":
        pytest.skip("the sabotages cable the VRF namespaces of the netns router realization")
    return figure1["testbed"]


def _sysctl_get(netns: str, key: str) -> str:
    return ns.run(["sysctl", "-n", key.replace("/", ".")], netns=netns).stdout.strip()


@contextmanager
def cable(testbed: str, a: str, b: str, routes_a=(), routes_b=()):
    """A veth between the namespaces of nodes A and B (203.0.113.1/30 at A, .2 at B), reverse-path
    filtering off at both ends, ROUTES_A via B in A and ROUTES_B via A in B; removed afterwards."""
    na, nb = naming.netns(testbed, a), naming.netns(testbed, b)
    saved = {n: _sysctl_get(n, "net/ipv4/conf/all/rp_filter") for n in (na, nb)}
    ns.run(["ip", "link", "add", "sab-a", "netns", na, "type", "veth", "peer", "name", "sab-b", "netns", nb])
    try:
        for netns, dev, addr, routes, via in ((na, "sab-a", "203.0.113.1/30", routes_a, "203.0.113.2"),
                                              (nb, "sab-b", "203.0.113.2/30", routes_b, "203.0.113.1")):
            ns.run(["ip", "addr", "add", addr, "dev", dev], netns=netns)
            ns.run(["ip", "link", "set", dev, "up"], netns=netns)
            ns.sysctl(netns, "net/ipv4/conf/all/rp_filter", 0)
            ns.sysctl(netns, f"net/ipv4/conf/{dev}/rp_filter", 0)
            for r in routes:
                ns.run(["ip", "route", "replace", r, "via", via, "dev", dev], netns=netns)
        yield
    finally:
        ns.run(["ip", "link", "del", "sab-a"], netns=na, check=False)
        for n, v in saved.items():
            ns.sysctl(n, "net/ipv4/conf/all/rp_filter", int(v))


def _one(testbed: str, case: str) -> Result:
    (r,) = attack.run(testbed, [case])
    print(f"{case}: {r.status}: {r.reason}")
    return r


# --- the tenancy and Internet cases ------------------------------------------------------------
def test_intact_world_the_internet_and_tenancy_cases_pass(world):
    results = attack.run(world, ["tunnel_inject", "sweep", "overlap", "vrf_fallthrough"])
    assert [(r.case, r.status) for r in results] == [(c, Status.PASS) for c in
                                                     ("tunnel_inject", "sweep", "overlap", "vrf_fallthrough")], \
        [r.to_dict() for r in results]


def test_a_cable_from_the_internet_table_into_a_vrf_fails_sweep_and_vrf_fallthrough(world):
    with cable(world, "pe1", "pe1.acme", routes_a=["10.1.1.0/24"], routes_b=["198.51.100.0/24"]):
        sw = _one(world, "sweep")
        vf = _one(world, "vrf_fallthrough")
    assert sw.status is Status.FAIL and sw.reason.startswith("LEAK: ") and "acme-h" in sw.reason, sw.to_dict()
    assert vf.status is Status.FAIL and "pe1/acme resolves 198.51.100.1" in vf.reason, vf.to_dict()
    assert _one(world, "sweep").status is Status.PASS          # undone: green again


def test_a_cable_between_two_tenants_vrfs_fails_overlap_and_vrf_fallthrough(world):
    with cable(world, "pe1.acme", "pe1.bravo", routes_a=["10.1.1.2/32", "10.1.100.0/24"]):
        ov = _one(world, "overlap")
        vf = _one(world, "vrf_fallthrough")
    assert ov.status is Status.FAIL and ov.reason.startswith("LEAK: ") and "bravo-h1 saw" in ov.reason, ov.to_dict()
    assert vf.status is Status.FAIL and "pe1/acme resolves 10.1.100.1" in vf.reason, vf.to_dict()


# --- the evidence itself: a blind sniffer, a dead sniffer, a sender that cannot send ---------------
def test_a_blind_sniffer_a_dead_sniffer_and_a_sender_that_cannot_send_are_errors(world):
    env = Env.open(world)
    place = {"acme-h1": (env.netns("acme-h1"), "any")}
    # blind: its control filter matches nothing the beacon sends
    blind = Control("ip and ip[2:2] = 1", marker_control(1239).mark, marker_control(1239).beacon)
    with Watch(place, marker_bpf(1237), control=blind) as w:
        pass
    r = observe(Result("blind", "", sent=1, control=1), w)
    print(f"blind sniffer: {r.status}: {r.reason}")
    assert (r.status, r.reason) == (Status.ERROR, "CONTROL BLIND at acme-h1"), r.to_dict()
    # the same watch with a live control passes
    with Watch(place, marker_bpf(1237), control=marker_control(1239)) as w:
        pass
    assert observe(Result("live", "", sent=1, control=1), w).status is Status.PASS
    # dead: tcpdump refuses the filter
    with Watch(place, "this is not ( a filter") as w:
        pass
    r = observe(Result("dead", "", sent=1, control=1), w)
    print(f"dead sniffer: {r.status}: {r.reason}")
    assert r.status is Status.ERROR and r.reason.startswith("sniffer at acme-h1 died (exit 1): "), r.to_dict()
    assert "syntax error" in r.reason or "parse" in r.reason or "expression" in r.reason, r.reason
    # a sender that cannot send: the case is an error naming it
    r = run_case(env, "label_spoof", lambda e: Result("label_spoof", "", sent=inject(e.netns("acme-h1"), "nope0",
                                                                                       [b"\x00" * 60]), control=1))
    print(f"sender that cannot send: {r.status}: {r.reason}")
    assert r.status is Status.ERROR and r.reason.startswith("SendError: cannot send from nope0 in "), r.to_dict()


# --- the VM cases: one set of attack VMs for all of them ----------------------------------------
@pytest.fixture(scope="module")
def armed(world):
    env = Env.open(world)
    actors = Actors.attach(env)
    env.suspects.update(attack.FORGED_MACS)
    env.suspects.update(v["mac"] for n, v in env.vms.items() if n in actors.names)
    try:
        yield env
    finally:
        actors.detach()
        attack.cleanup(env)


def _case(env: Env, name: str, fn) -> Result:
    try:
        r = run_case(env, name, fn)
        print(f"{name}: {r.status}: {r.reason}")
        return r
    finally:
        attack.cleanup(env)            # no attacker MAC left anywhere for the next run


def test_intact_world_the_vm_cases_pass(armed):
    for name, fn in (("vlan_hop", vlan.vlan_hop), ("arp_spoof", arp.arp_spoof), ("mac_flap", flap_case.mac_flap)):
        r = _case(armed, name, fn)
        assert r.status is Status.PASS, (r.reason, r.to_dict())


def test_a_vm_port_on_the_other_tenants_vlan_fails_vlan_hop_and_arp_spoof(armed):
    a, b = armed.vms["atk-a1"], armed.vms["atk-b1"]
    bridge = naming.bridge(a["server"])
    if a["server"] != b["server"]:
        pytest.skip("the victim VM is not on the attacker's server (reconverge moved it)")
    ns.run(["ovs-vsctl", "set", "Port", a["port"], f"tag={b['vlan']}"])
    try:
        vh = _case(armed, "vlan_hop", vlan.vlan_hop)
        asp = _case(armed, "arp_spoof", arp.arp_spoof)
    finally:
        ns.run(["ovs-vsctl", "set", "Port", a["port"], f"tag={a['vlan']}"])
        attack.cleanup(armed)
    assert vh.status is Status.FAIL and vh.reason.startswith("LEAK: ") and "atk-b1 saw" in vh.reason, vh.to_dict()
    assert asp.status is Status.FAIL and ("LEAK: " in asp.reason or "STATE CHANGED" in asp.reason), asp.to_dict()
    assert ns.run(["ovs-vsctl", "get", "Port", a["port"], "tag"]).stdout.strip() == str(a["vlan"]), bridge


def test_without_port_security_rules_arp_spoof_fails(armed):
    s1 = armed.vms["atk-s1"]
    rules = port_security.actions(s1)
    Realizer(armed.testbed).undo([], rules)
    try:
        r = _case(armed, "arp_spoof", arp.arp_spoof)
    finally:
        Realizer(armed.testbed).apply([], rules)
    assert r.status is Status.FAIL and r.reason.startswith("LEAK: ") and "atk-s2 saw" in r.reason, r.to_dict()


def test_with_the_flap_detector_disabled_mac_flap_fails(armed, monkeypatch):
    monkeypatch.setattr(flap, "observe", functools.partial(flap.observe, moves=10 ** 6))   # never flags
    r = _case(armed, "mac_flap", flap_case.mac_flap)
    assert (r.status, r.reason) == (Status.FAIL, "NOT DETECTED"), r.to_dict()


def test_intact_world_reconverge_passes(armed):
    """After the sabotages above (each undone), and before the one below: it migrates the victim."""
    r = _case(armed, "reconverge", reconverge.reconverge)
    assert r.status is Status.PASS, (r.reason, r.to_dict())


def test_a_cable_between_two_tenants_vrfs_fails_reconverge(armed):
    with cable(armed.testbed, "pe1.acme", "pe1.bravo", routes_a=["10.1.100.0/24"]):
        r = _case(armed, "reconverge", reconverge.reconverge)
    assert r.status is Status.FAIL and r.reason.startswith("LEAK: ") and "atk-b1 saw" in r.reason, r.to_dict()
