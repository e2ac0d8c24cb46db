"""Pure logic of the adversarial suite: the flap detector's window, arpwatch, verdicts, the edge filter."""
from cloudnet_emu.attack import arpwatch
from cloudnet_emu.attack.result import Result, all_held, merge, table_rows
from cloudnet_emu.managers import flap
from cloudnet_emu.realize import edge_filter


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


def test_verdicts_need_a_seeing_control_and_detection():
    assert Result("c", "r", sent=3, control=2).held
    assert not Result("c", "r", sent=3, leaked=1, control=2).held
    assert Result("c", "r", sent=3, control=0).verdict == "CONTROL BLIND"
    assert Result("c", "r", must_detect=True).verdict == "NOT DETECTED"
    assert Result("c", "r", must_detect=True, detected=["x"]).held
    assert Result("c", "r", state_changed=["a -> b"], control=1).verdict == "STATE CHANGED"
    m = merge("c", "r", [Result("c", "", sent=2, control=3), Result("c", "", sent=5, leaked=1, control=0)])
    assert (m.sent, m.leaked, m.control, m.verdict) == (7, 1, 0, "LEAK, CONTROL BLIND")
    assert table_rows([m]) == [["c", "r", "7", "1", "0", "LEAK, CONTROL BLIND"]]
    assert not all_held([]) and all_held([Result("c", "r", control=1)])


def test_edge_filter_trusts_only_core_links_and_lo():
    info = {"core_links": [{"a": "pe1", "b": "p1"}, {"a": "pe3", "b": "pe4"}, {"a": "pe3", "b": "p1"}],
            "underlay": {"index": {"pe1": 0, "pe3": 1, "pe4": 2, "p1": 3}}}
    assert edge_filter.core_interfaces(info, "pe3") == ["p1", "pe4"]
    rules = edge_filter.ruleset(info, "pe1")
    assert 'iifname { "lo", "p1" } accept' in rules
    assert "udp dport { 4789, 6081 } counter drop" in rules
    assert "meta l4proto { 4, 47, 137 } counter drop" in rules
    assert edge_filter.provider_routers(info) == ["p1", "pe1", "pe3", "pe4"]


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
