"""The attack suite under `control: bgp` (FRR in every provider router and tenant VRF), and the
bgp_session case's sabotage: a tenant VRF's bgpd that accepts its CE as a peer turns it red (the
other bgp sabotages: test_attack_bgp_sabotage.py).

One Figure 1 testbed (realized with control=bgp) serves the module: the whole suite first (every
case passes or is not checked; `check` green right after it: the attack left the testbed as it
found it), then the sabotage, undone in a finally, then the intact case green again beside it.
"""
from __future__ import annotations

import json
import time

import pytest

from cloudnet_emu import attack, lifecycle, naming, pipeline, state
from cloudnet_emu.attack.tools import Env, traces
from cloudnet_emu.checks import all_checks
from cloudnet_emu.kernel import frr as kfrr
from cloudnet_emu.kernel import ns
from cloudnet_emu.plan.frr import DAEMONS
from cloudnet_emu.verdict import Status

from tests.conftest import FULL_KERNEL
from tests.integration.conftest import TOPO

pytestmark = pytest.mark.skipif(bool(kfrr.missing(DAEMONS)), reason="FRR is not installed (./setup.sh installs it)")


@pytest.fixture(scope="module")
def bgp_figure1(clean_module):
    record = pipeline.up(TOPO, realize="control=bgp", degrade=not FULL_KERNEL)
    try:
        yield record
    finally:
        lifecycle.down(record["testbed"])


def _vtysh_conf(testbed: str, node: str, *lines: str) -> None:
    argv = ["vtysh", "--vty_socket", state.daemon_dir(testbed, node), "-c", "configure terminal"]
    for line in lines:
        argv += ["-c", line]
    ns.run(argv)


def _vxlan_ports(testbed: str, pe: str) -> list[dict]:
    ports = json.loads(ns.run(["bridge", "-j", "-d", "link", "show"], netns=naming.netns(testbed, pe)).stdout)
    return [p for p in ports if p["ifname"].startswith(("vx-", "vxl-"))]


def test_the_whole_suite_holds_under_bgp_and_leaves_the_testbed_as_found(bgp_figure1):
    tb = bgp_figure1["testbed"]
    assert bgp_figure1["realizations"]["control"] == "bgp"
    # every EVPN VXLAN port learns nothing from the data plane (zebra's entries alone); the cloud
    # PEs get theirs at attach (test_attack_bgp_sabotage.py reads them there)
    for pe in ("pe1", "pe2"):
        assert _vxlan_ports(tb, pe) and all(p.get("learning") is False for p in _vxlan_ports(tb, pe)), pe
    t0 = time.monotonic()
    env = Env.open(tb)
    results = attack.run(tb, env=env)
    took = time.monotonic() - t0
    for r in results:
        print(f"\n{r.case}: {r.status}: {r.reason}")
        for n in r.notes:
            print(f"    {n}")
    print(f"\nthe suite under bgp took {took:.0f} s")
    assert [r.case for r in results] == list(attack.CASE_NAMES)
    bad = {r.case: r.reason for r in results if r.status not in (Status.PASS, Status.NOT_CHECKED)}
    assert not bad, bad
    by = {r.case: r for r in results}
    # under bgp these cases run: each passes with its evidence, never "not checked"
    s = by["bgp_session"]
    assert s.status is Status.PASS, s.to_dict()
    assert {x.src for x in s.sent_by} >= {"acme-hq", "acme-br", "bravo-hq", "bravo-br", "inet",
                                          "atk-a1", "atk-a3", "atk-b1", "atk-s1"}
    assert all(x.count > 0 for x in s.sent_by)
    # every FRR instance (provider routers and tenant VRFs, those made for the attack's VMs: atk-b1's
    # bravo VRF is at pe4 by then, reconverge migrated it) watched
    watched = {w.at for w in s.watched}
    assert {"pe1", "pe2", "pe3", "pe4", "p1", "pe1.acme", "pe2.acme", "pe1.bravo", "pe2.bravo", "pe3.acme"} <= watched
    assert len(watched) == 11, watched
    assert all(w.control > 0 and w.seen == 0 for w in s.watched), s.to_dict()
    f = by["mac_flap"]
    assert f.status is Status.PASS and f.detected and not f.state_changed, f.to_dict()
    rti = by["rt_import"]
    assert rti.status is Status.PASS, rti.to_dict()
    assert {"pe1", "pe2", "pe3", "pe4", "pe1.acme", "pe1.bravo"} <= {w.at for w in rti.watched}
    assert {x.src for x in rti.sent_by} >= {"acme", "bravo", "atk-a1"}
    assert traces(Env.open(tb), env.suspects) == []
    checks = all_checks(tb, state.read(tb))
    assert checks and all(c.passed for c in checks), [c for c in checks if not c.passed]
    # and the attack's VMs come back in the same testbed (a VRF made at attach is rebuilt cleanly)
    again = attack.run(tb, ["bgp_session"], env=Env.open(tb))[0]
    assert again.status is Status.PASS, again.to_dict()


def test_sabotage_a_vrf_bgpd_that_accepts_a_ce(bgp_figure1):
    tb = bgp_figure1["testbed"]
    env = Env.open(tb)
    site = env.world.sites["acme-hq"]
    ce = site.access["ce"].split("/")[0]
    vrf, asn = site.vrf_node, env.world.control.asn
    _vtysh_conf(tb, vrf, f"router bgp {asn}", f"neighbor {ce} remote-as internal",
                "address-family ipv4 unicast", f"neighbor {ce} activate")
    try:
        broken = attack.run(tb, ["bgp_session"], env=env)[0]
    finally:
        _vtysh_conf(tb, vrf, f"router bgp {asn}", f"no neighbor {ce}")
    print(f"\nsabotaged: {broken.status}: {broken.reason}")
    assert broken.status is Status.FAIL, broken.to_dict()
    assert f"{vrf}: BGP session with attacker {ce} Established" in broken.reason
    assert "answered the OPEN of acme-hq" in broken.reason
    assert any(f"{vrf}: 203.0.113.0/24 in its BGP table" in x for x in broken.leaks), broken.leaks
    # beside it, the intact world (the neighbour removed) is green again
    intact = attack.run(tb, ["bgp_session"], env=Env.open(tb))[0]
    print(f"intact: {intact.status}: {intact.reason}")
    assert intact.status is Status.PASS, intact.to_dict()
