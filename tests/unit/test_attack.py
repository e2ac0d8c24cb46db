"""Pure logic of the adversarial suite: the flap detector's window, arpwatch, verdicts, the edge filter."""
from cloudnet_emu.attack import arpwatch
import json

from cloudnet_emu.attack.result import Result, all_held, merge, skipped, table_rows
from cloudnet_emu.verdict import Sent, Status, Watch
from cloudnet_emu.managers import flap
from cloudnet_emu.realize import edge_filter
from cloudnet_emu.plan.build import build_plan
from cloudnet_emu.plan.choose import choose
from cloudnet_emu.spec.load import load_topology
from tests.unit.plan.test_plan import REDUCED


def test_flap_flags_past_five_moves_in_the_window():
    rec = {}
    sites = ["dc1", "dc2"] * 4
    out = [flap.observe(rec, "v", "02:00:00:00:00:01", s, float(i)) for i, s in enumerate(sites)]
    assert [len(o["moves"]) for o in out] == [0, 1, 2, 3, 4, 5, 6, 7]
    assert [o["flagged"] is not None for o in out] == [False] * 6 + [True] * 2
    assert out[6]["flagged"] == 6.0
    assert flap.flagged(rec)[0]["mac"] == "02:00:00:00:00:01"


def test_flap_moves_older_than_the_window_do_not_count():
    rec = {}
    for i, s in enumerate(["dc1", "dc2"] * 4):
        o = flap.observe(rec, "v", "02:00:00:00:00:01", s, i * 60.0)      # one move a minute
    assert len(o["moves"]) == 4 and o["flagged"] is None                 # 4 within 180 s (inclusive)


def test_flap_same_site_is_not_a_move_and_vpcs_are_apart():
    rec = {}
    for i in range(10):
        flap.observe(rec, "a", "02:00:00:00:00:01", "dc1", float(i))
    for i, s in enumerate(["dc1", "dc2"] * 4):
        flap.observe(rec, "b", "02:00:00:00:00:01", s, float(i))
    assert rec["a 02:00:00:00:00:01"]["moves"] == [] and rec["a 02:00:00:00:00:01"]["flagged"] is None
    assert rec["b 02:00:00:00:00:01"]["flagged"] is not None
    assert [f["vpc"] for f in flap.flagged(rec)] == ["b"]


REQ = ("12:00:00.000000 cnv-atk-a1 In 02:aa:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: "
       "Request who-has 10.1.1.1 tell 10.1.1.1, length 28")
REP = ("12:00:00.000000 02:aa:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: "
       "Reply 10.1.1.7 is-at 02:aa:00:00:00:01, length 28")
OWN = ("12:00:00.000000 02:bb:00:00:00:02 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: "
       "Request who-has 10.1.1.1 tell 10.1.1.8, length 28")


def test_arpwatch_reads_claims_from_tcpdump_lines():
    assert arpwatch.claims([REQ, REP, OWN, "garbage"]) == [
        ("10.1.1.1", "02:aa:00:00:00:01"), ("10.1.1.7", "02:aa:00:00:00:01"), ("10.1.1.8", "02:bb:00:00:00:02")]


def test_arpwatch_flags_claims_against_the_records():
    vms = [{"ip": "10.1.1.7", "mac": "02:CC:00:00:00:07"}, {"ip": "10.1.1.8", "mac": "02:bb:00:00:00:02"}]
    owners = arpwatch.owners_from_records(vms, {"10.1.1.1": set()})
    found = arpwatch.spoofs(arpwatch.claims([REQ, REP, OWN]), owners)
    assert found == ["02:aa:00:00:00:01 claims 10.1.1.1 (recorded: a gateway, no VM)",
                     "02:aa:00:00:00:01 claims 10.1.1.7 (recorded: 02:cc:00:00:00:07)"]
    assert arpwatch.spoofs([("10.1.1.8", "02:bb:00:00:00:02"), ("10.9.9.9", "02:aa:00:00:00:01")], owners) == []


def test_a_case_passes_only_with_packets_sent_and_a_seeing_control():
    assert Result("c", "r", sent=3, control=2).status is Status.PASS
    assert Result("c", "r", sent=3, control=2).held
    assert Result("c", "r", sent=3, control=2).verdict == "held"
    # nothing sent, no control (-1), a blind control: errors, never a pass
    assert Result("c", "r", control=2).status is Status.ERROR
    assert Result("c", "r", control=2).reason == "nothing was sent"
    assert Result("c", "r", sent=3).status is Status.ERROR and Result("c", "r", sent=3).reason == "no positive control"
    blind = Result("c", "r", sent=3, control=0)
    assert blind.status is Status.ERROR and blind.reason.startswith("CONTROL BLIND") and not blind.held
    assert not Result("c", "r").held            # an empty case does not hold


def test_each_watcher_needs_its_own_live_control_and_every_sender_must_send():
    r = Result("c", "r", sent=3, control=2, watched=[Watch("h1", 2), Watch("h2", 0)])
    assert (r.status, r.reason) == (Status.ERROR, "CONTROL BLIND at h2")
    r = Result("c", "r", sent=3, control=2, sent_by=[Sent("a:eth0", "x", 3), Sent("b:eth9", "x", 0)])
    assert (r.status, r.reason) == (Status.ERROR, "sender(s) could not send: b:eth9")
    r = Result("c", "r", sent=3, control=2, errors=["sniffer at h1 died (exit 1): tcpdump: syntax error"])
    assert r.status is Status.ERROR and "sniffer at h1 died" in r.reason


def test_leaks_state_changes_and_missed_detection_fail():
    r = Result("c", "r", sent=3, leaked=1, control=2, watched=[Watch("h1", 1, 1)])
    assert (r.status, r.reason) == (Status.FAIL, "LEAK: 1 (h1 saw 1)")
    # a seen leak is a fail even if another watcher is blind: the one that saw it was live
    assert Result("c", "r", sent=3, leaked=1, control=0).status is Status.FAIL
    r = Result("c", "r", sent=1, state_changed=["a -> b"], control=1)
    assert r.status is Status.FAIL and r.reason == "STATE CHANGED: a -> b"
    assert Result("c", "r", sent=1, control=1, must_detect=True).reason == "NOT DETECTED"
    assert Result("c", "r", sent=1, control=1, must_detect=True, detected=["x"]).held


def test_not_checked_is_apart_and_merge_keeps_the_weakest_part():
    nc = skipped("sweep", "r", "no Internet node in this topology")
    assert (nc.status, nc.reason) == (Status.NOT_CHECKED, "no Internet node in this topology") and not nc.held
    m = merge("c", "r", [Result("c", "", sent=2, control=3), Result("c", "", sent=5, leaked=1, control=0)])
    assert (m.sent, m.leaked, m.control, m.status) == (7, 1, 0, Status.FAIL)
    assert table_rows([m]) == [["c", "r", "7", "1", "0", "fail", "LEAK: 1"]]
    # a part without a control makes the whole an error; parts that do not apply are left out
    assert merge("c", "r", [Result("c", "", sent=2, control=3), Result("c", "", sent=1)]).status is Status.ERROR
    m = merge("c", "r", [Result("c", "", sent=2, control=3), skipped("c", "", "not here")])
    assert m.status is Status.PASS and m.sent == 2
    assert merge("c", "r", [skipped("c", "", "not here")]).status is Status.NOT_CHECKED
    assert merge("c", "r", []).status is Status.NOT_CHECKED
    # every part that must detect must have detected
    assert merge("c", "r", [Result("c", "", sent=1, control=1, must_detect=True, detected=["x"]),
                            Result("c", "", sent=1, control=1, must_detect=True)]).reason == "NOT DETECTED"


def test_exit_rule_every_case_passed_or_not_checked_with_one_pass():
    ok, nc = Result("c", "r", sent=1, control=1), skipped("d", "r", "why")
    assert all_held([ok]) and all_held([ok, nc])
    assert not all_held([]) and not all_held([nc])
    assert not all_held([ok, Result("e", "r", sent=1)])                 # an error
    assert not all_held([ok, Result("e", "r", sent=1, leaked=1, control=1)])


def test_result_round_trips_through_json_with_status_and_evidence():
    r = Result("c", "r", sent=3, control=2, sent_by=[Sent("a:eth0", "x", 3)], watched=[Watch("h1", 2)])
    d = json.loads(json.dumps(r.to_dict()))
    assert d["status"] == "pass" and d["held"] and d["reason"].startswith("3 sent")
    assert d["sent_by"] == [{"src": "a:eth0", "what": "x", "count": 3}]
    assert d["watched"] == [{"at": "h1", "control": 2, "seen": 0}]
    back = Result.from_dict(d)
    assert back.status is Status.PASS and back.watched == [Watch("h1", 2)]
    v = r.to_verdict()
    assert (v.name, v.kind, v.status, v.sent, v.watched) == ("c", "attack", Status.PASS, r.sent_by, r.watched)


def test_watch_control_mark_matches_tcpdump_verbose_lines():
    import re
    from cloudnet_emu.attack.arp import BEACON_IP, arp_control
    from cloudnet_emu.attack.packets import marker_control
    line = ("12:00:00.000000 eth0 Out 02:aa:00:00:00:01 ethertype IPv4 (0x0800), length 1255: (tos 0x0, ttl 64, "
            "id 1, offset 0, flags [none], proto ICMP (1), length 1239) 192.0.2.1 > 192.0.2.2: ICMP echo request")
    assert re.search(marker_control(1239).mark, line) and not re.search(marker_control(1237).mark, line)
    arp = (f"12:00:00.000000 eth0 Out 02:aa:00:00:00:01 ethertype ARP (0x0806), length 48: Ethernet (len 6), "
           f"IPv4 (len 4), Request who-has {BEACON_IP} tell 0.0.0.0, length 28")
    assert re.search(arp_control().mark, arp)


def test_edge_filter_trusts_only_core_links_and_lo():
    topo = load_topology("topologies/cloudnet.yaml")
    world = build_plan(topo, choose(topo, REDUCED, degrade=True)).world
    assert edge_filter.core_interfaces(world, "pe3") == ["p1", "pe4"]
    rules = edge_filter.ruleset(world, "pe1")
    assert 'iifname { "lo", "p1" } accept' in rules
    assert "udp dport { 4789, 6081 } counter drop" in rules
    assert "meta l4proto { 4, 47, 137 } counter drop" in rules
    assert edge_filter.provider_routers(world) == ["p1", "pe1", "pe2", "pe3", "pe4"]


def test_port_security_rules_allow_only_the_vms_own_mac_and_address():
    from cloudnet_emu.managers import port_security
    vm = {"name": "v1", "port": "cnv-v1", "mac": "02:AA:00:00:00:01", "ip": "10.2.0.5"}
    allow_arp, allow_ip, drop = port_security.flows(vm)
    c = f"cookie={port_security.cookie('v1'):#x}"
    assert all(f.startswith(c) for f in (allow_arp, allow_ip, drop))
    assert "in_port=cnv-v1,dl_src=02:aa:00:00:00:01,arp,arp_spa=10.2.0.5,arp_sha=02:aa:00:00:00:01" in allow_arp
    assert "ip,nw_src=10.2.0.5,actions=NORMAL" in allow_ip
    assert drop.endswith("priority=200,in_port=cnv-v1,actions=drop")
    assert port_security.cookie("v1") != port_security.cookie("v2")
