"""bgp_session: the BGP messages it sends, and its verdict from the routers' reads (pure)."""
from __future__ import annotations

from cloudnet_emu.attack import bgp, rt
from cloudnet_emu.attack.bgp import Attempt, judge, result
from cloudnet_emu.verdict import Status

ATTACKER = "10.1.1.254"


def _read(peers=None, routes=None, fib=None):
    return {"neighbors": peers if peers is not None else {"100.127.255.5": {"bgpState": "Established"}},
            "routes": routes if routes is not None else {"100.127.255.2/32": [{}]},
            "fib": fib if fib is not None else ["100.127.255.2", "10.0.0.0/30"]}


def _attempts(outcome="closed by the router"):
    return [Attempt("acme-hq", "100.66.0.1", outcome=outcome, local=ATTACKER, sent=2),
            Attempt("inet", "100.127.255.1", outcome="no answer", sent=1)]


def test_messages_are_well_formed_bgp():
    op = bgp.bgp_open(65000, "10.1.1.254", hold=30)
    assert op[:16] == b"\xff" * 16 and int.from_bytes(op[16:18], "big") == len(op) == 29
    assert bgp.message_type(op) == 1 and op[19] == 4 and int.from_bytes(op[20:22], "big") == 65000
    assert op[24:28] == bytes([10, 1, 1, 254])
    assert bgp.message_type(bgp.bgp_keepalive()) == 4 and len(bgp.bgp_keepalive()) == 19
    up = bgp.bgp_update("203.0.113.0/24", "10.1.1.254")
    assert bgp.message_type(up) == 2 and int.from_bytes(up[16:18], "big") == len(up)
    assert up.endswith(bytes([24, 203, 0, 113]))
    assert bgp.message_type(b"") is None and bgp.message_type(b"\x00" * 19) is None


def test_intact_reads_pass_with_live_watchers():
    r = result(_attempts(), {"pe1": _read(), "pe1.acme": _read()}, "vxlan/netns/netdev")
    assert r.status is Status.PASS, r.reason
    assert {s.src: s.count for s in r.sent_by} == {"acme-hq": 2, "inet": 1}
    assert [w.at for w in r.watched] == ["pe1", "pe1.acme"] and all(w.control == 1 for w in r.watched)


def test_an_attacker_session_established_fails_naming_the_router():
    peers = {"100.127.255.5": {"bgpState": "Established"}, ATTACKER: {"bgpState": "Established"}}
    r = result(_attempts("open answered, UPDATE sent"), {"pe1.acme": _read(peers=peers)}, "x")
    assert r.status is Status.FAIL
    assert "pe1.acme: BGP session with attacker 10.1.1.254 Established" in r.reason
    assert "100.66.0.1 answered the OPEN of acme-hq" in r.reason


def test_the_marker_prefix_anywhere_fails():
    r = result(_attempts(), {"pe1": _read(routes={"203.0.113.0/24": [{}], "100.127.255.2/32": [{}]}),
                             "pe2": _read(fib=["203.0.113.0/24"])}, "x")
    assert r.status is Status.FAIL
    assert "pe1: 203.0.113.0/24 in its BGP table" in r.reason and "pe2: 203.0.113.0/24 in its kernel FIB" in r.reason


def test_a_configured_but_idle_attacker_peer_is_no_leak():
    peers = {"100.127.255.5": {"bgpState": "Established"}, ATTACKER: {"bgpState": "Active"}}
    assert result(_attempts(), {"pe1": _read(peers=peers)}, "x").status is Status.PASS


def test_a_read_with_no_legitimate_session_is_blind_and_a_silent_read_an_error():
    r = result(_attempts(), {"pe1": _read(peers={"100.127.255.5": {"bgpState": "Connect"}}), "p1": _read()}, "x")
    assert r.status is Status.ERROR and "CONTROL BLIND at pe1" in r.reason
    silent = {"neighbors": None, "routes": {}, "fib": []}
    r = result(_attempts(), {"pe1": _read(), "pe2": silent}, "x")
    assert r.status is Status.ERROR and "pe2: no answer to the read of its neighbors" in r.reason
    assert result(_attempts(), {}, "x").status is Status.ERROR


def test_an_attempt_that_could_not_be_made_is_an_error():
    bad = _attempts() + [Attempt("acme-br", "100.127.255.2", error="no namespace cn-x-acme-br")]
    r = result(bad, {"pe1": _read()}, "x")
    assert r.status is Status.ERROR and "acme-br -> 100.127.255.2:179: no namespace" in r.reason


def test_judge_counts_hits_per_router():
    peers = {ATTACKER: {"bgpState": "Established"}, "100.127.255.5": {"bgpState": "Established"}}
    watched, leaks, errors = judge({"p1": _read(peers=peers, fib=["203.0.113.0/24"])}, {ATTACKER})
    assert [(w.at, w.control, w.seen) for w in watched] == [("p1", 1, 2)] and len(leaks) == 2 and not errors


def test_under_static_the_case_is_not_checked_never_a_pass():
    class Static:
        record = {"realizations": {"core": "vxlan", "router": "netns", "datapath": "netdev", "control": "static"}}

        def realization(self):
            return "vxlan/netns/netdev"

        def control(self):
            return "static"
    for case in (bgp.bgp_session, rt.rt_import):
        r = case(Static())
        assert r.status is Status.NOT_CHECKED and r.reason == "no BGP in the provider network (control: static)"
        assert not r.held


def test_the_vms_attack_too_their_gateway_and_every_vrf_of_their_tenant():
    from cloudnet_emu.plan.build import build_plan
    from cloudnet_emu.plan.choose import choose
    from cloudnet_emu.spec.load import load_topology
    from tests.unit.plan.test_plan import REDUCED
    topo = load_topology("topologies/cloudnet.yaml")
    world = build_plan(topo, choose(topo, REDUCED, degrade=True)).world
    vms = {"atk-s1": {"tenant": "acme", "gateway": "10.254.0.1", "ip": "10.254.0.2"},
           "atk-b1": {"tenant": "bravo", "gateway": "10.1.100.1", "ip": "10.1.100.2"}}
    transits = {"acme": ["100.66.0.1", "100.66.0.3"], "bravo": ["100.66.1.3"]}
    t = bgp.targets(world, vms, transits)
    loopbacks = {a.split("/")[0] for a in world.loopbacks.values()}
    assert {"10.254.0.1", "100.66.0.1", "100.66.0.3"} | loopbacks <= set(t["atk-s1"])
    assert "100.66.1.3" not in t["atk-s1"] and {"10.1.100.1", "100.66.1.3"} <= set(t["atk-b1"])
    # the sites and the Internet node as before
    assert {"acme-hq", "bravo-br", "inet"} <= set(t)
