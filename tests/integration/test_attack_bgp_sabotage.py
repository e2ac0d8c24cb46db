"""Sabotage under control=bgp: break the provider's FRR on purpose in the way each bgp-specific
attack case exists to catch, and the case turns red with the right reason; beside each, the
intact world is green.

    mac_flap     duplicate-address detection off at every PE of the VPC (`no dup-addr-detection`),
                 and a flap one move short of FRR's threshold: NOT DETECTED
    bgp_session  a tenant VRF's bgpd that accepts an attack VM as its neighbour: LEAK
    rt_import    a PE's VNI of bravo importing acme's route target: LEAK, in the config, zebra and
                 the kernel FDB

Its own Figure 1 testbed (control=bgp) and the attack's VMs, attached once for the module; every
sabotage is undone in a finally, and the attack's MACs removed at the end.
"""
from __future__ import annotations

from contextlib import contextmanager

import pytest

from cloudnet_emu import attack, lifecycle, pipeline, state
from cloudnet_emu.attack import bgp, dad, rt, run_case
from cloudnet_emu.attack.actors import Actors
from cloudnet_emu.attack.tools import Env
from cloudnet_emu.kernel import frr as kfrr
from cloudnet_emu.plan.frr import DAEMONS
from cloudnet_emu.verdict import Status

from tests.conftest import FULL_KERNEL
from tests.integration.conftest import TOPO

pytestmark = pytest.mark.skipif(bool(kfrr.missing(DAEMONS)), reason="FRR is not installed (./setup.sh installs it)")


@pytest.fixture(scope="module")
def env(clean_module):
    record = pipeline.up(TOPO, realize="control=bgp", degrade=not FULL_KERNEL)
    try:
        e = Env.open(record["testbed"])
        e.suspects.update(attack.FORGED_MACS)
        actors = Actors.attach(e)
        try:
            yield e
        finally:
            actors.detach()
            attack.cleanup(e)
    finally:
        lifecycle.down(record["testbed"])


@contextmanager
def frr_config(e: Env, router: str, lines: list[str], undo: list[str]):
    directory = state.daemon_dir(e.testbed, router)
    kfrr.configure(directory, lines)
    try:
        yield
    finally:
        kfrr.configure(directory, undo)


def _evpn(asn: int, *lines: str) -> list[str]:
    return [f"router bgp {asn}", "address-family l2vpn evpn", *lines]


def _show(r):
    print(f"\n{r.case}: {r.status}: {r.reason}")
    for n in r.notes:
        print(f"    {n}")


def _vpls_pes(e: Env) -> list[str]:
    vpc = e.vms["atk-a1"]["vpc"]
    return sorted(p for p in e.world.loopbacks if dad.vni_of(e, p, f"vxl-{vpc}") is not None)


def test_the_cloud_pes_vxlan_ports_learn_nothing(env):
    from tests.integration.test_attack_bgp import _vxlan_ports
    for pe in _vpls_pes(env):
        ports = _vxlan_ports(env.testbed, pe)
        assert ports and all(p.get("learning") is False for p in ports), (pe, ports)


def test_mac_flap_without_duplicate_address_detection_is_not_detected(env):
    asn, pes = env.world.control.asn, _vpls_pes(env)
    assert len(pes) >= 2, pes
    with _many(env, pes, _evpn(asn, "no dup-addr-detection"), _evpn(asn, "dup-addr-detection")):
        assert all(kfrr.evpn(state.daemon_dir(env.testbed, p))["isDuplicateAddrDetection"] is False for p in pes)
        broken = run_case(env, "mac_flap", dad.mac_flap)
    _show(broken)
    assert broken.status is Status.FAIL and broken.reason == "NOT DETECTED", broken.to_dict()
    assert broken.control > 0 and not broken.detected
    intact = run_case(env, "mac_flap", dad.mac_flap)
    _show(intact)
    assert intact.status is Status.PASS and intact.detected, intact.to_dict()


def test_mac_flap_one_move_short_of_the_threshold_is_not_detected(env):
    threshold = kfrr.evpn(state.daemon_dir(env.testbed, _vpls_pes(env)[0]))["maxMoves"]
    short = run_case(env, "mac_flap", lambda e: dad.mac_flap(e, moves=threshold - 1))
    _show(short)
    assert short.status is Status.FAIL and short.reason == "NOT DETECTED", short.to_dict()
    assert short.control == threshold, short.to_dict()       # every step located and propagated
    enough = run_case(env, "mac_flap", lambda e: dad.mac_flap(e, moves=threshold))
    _show(enough)
    assert enough.status is Status.PASS and enough.detected, enough.to_dict()


def test_bgp_session_a_vrf_that_accepts_a_vm_as_neighbour_leaks(env):
    s1 = env.vms["atk-s1"]
    vrf = f"{env.world.clouds[s1['site']].pe}.{s1['tenant']}"
    assert vrf in bgp.instances(env.testbed)
    asn = env.world.control.asn
    with frr_config(env, vrf, [f"router bgp {asn}", f"neighbor {s1['ip']} remote-as internal",
                               "address-family ipv4 unicast", f"neighbor {s1['ip']} activate"],
                    [f"router bgp {asn}", f"no neighbor {s1['ip']}"]):
        broken = run_case(env, "bgp_session", bgp.bgp_session)
    _show(broken)
    assert broken.status is Status.FAIL, broken.to_dict()
    assert f"{vrf}: BGP session with attacker {s1['ip']} Established" in broken.leaks, broken.leaks
    assert any(f"answered the OPEN of atk-s1 ({s1['ip']})" in x for x in broken.leaks), broken.leaks
    assert f"{vrf}: {bgp.MARKER} in its BGP table" in broken.leaks, broken.leaks
    intact = run_case(env, "bgp_session", bgp.bgp_session)
    _show(intact)
    assert intact.status is Status.PASS, intact.to_dict()
    assert {"atk-s1", "atk-b1"} <= {x.src for x in intact.sent_by}


def test_rt_import_a_vni_importing_another_tenants_route_target_leaks(env):
    asn = env.world.control.asn
    vnis = kfrr.evpn_vnis(state.daemon_dir(env.testbed, "pe1"))
    by_if = {v["vxlanIf"]: (n, v) for n, v in vnis.items()}
    bravo_vni, bravo = by_if["vx-bravo"]
    _, acme = by_if["vx-acme"]
    foreign = acme["exportRTs"][0]
    with frr_config(env, "pe1", _evpn(asn, f"vni {bravo_vni}", f"route-target import {bravo['importRTs'][0]}",
                                      f"route-target import {foreign}", "exit-vni"),
                    _evpn(asn, f"no vni {bravo_vni}")):
        broken = run_case(env, "rt_import", rt.rt_import)
    _show(broken)
    assert broken.status is Status.FAIL, broken.to_dict()
    assert f"pe1: VNI {bravo_vni} (bravo) imports {foreign}, which acme's VNIs export" in broken.leaks
    assert any(x.startswith("pe1: acme's ") and x.endswith("in the FDB of vx-bravo (bravo)") for x in broken.leaks), \
        broken.leaks
    intact = run_case(env, "rt_import", rt.rt_import)
    _show(intact)
    assert intact.status is Status.PASS, intact.to_dict()


@contextmanager
def _many(e: Env, routers: list[str], lines: list[str], undo: list[str]):
    done = []
    try:
        for r in routers:
            kfrr.configure(state.daemon_dir(e.testbed, r), lines)
            done.append(r)
        yield
    finally:
        for r in done:
            kfrr.configure(state.daemon_dir(e.testbed, r), undo)
