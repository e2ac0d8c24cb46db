"""Access rules without root: parsing, validation against a topology, compilation to nft."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloudnet_emu.acl.checks import check_acl
from cloudnet_emu.acl.model import Acl
from cloudnet_emu.acl.nft import VpcRules, VrfScope, counter_name, parse_counters, render, rule_lines
from cloudnet_emu.errors import SpecError
from cloudnet_emu.spec.load import parse_topology

BASE = open("topologies/cloudnet.yaml").read()
RULES = {"default": "deny", "rules": [
    {"name": "pg", "from": "proc", "to": "db", "proto": "tcp", "port": 5432, "action": "allow"},
    {"from": ["bravo-hq", "10.1.2.0/24"], "to": "db", "proto": "icmp", "action": "deny", "both": True},
    {"from": "any", "to": "dc2", "proto": "udp", "port": ["53", "8000-8099"], "action": "allow"}]}


def _topo(acl_yaml: str, vpc: str = "bravo-vpc") -> str:
    line = [ln for ln in BASE.splitlines() if ln.startswith(f"  - {{name: {vpc},")][0]
    vms = ", vms: [{name: proc, site: dc1}, {name: db, site: dc2}]" if vpc == "bravo-vpc" else ""
    return BASE.replace(line, line[:-1] + vms + ", acl: " + acl_yaml + "}")


def _problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as exc:
        parse_topology(text, "t.yaml")
    return [p.format() for p in exc.value.problems]


def test_rules_parse_with_defaults_and_normalized_ports():
    acl = Acl.model_validate(RULES)
    assert acl.default == "deny" and acl.names() == ["pg", "r2", "r3"]
    assert acl.rules[0].port == ["5432"] and acl.rules[2].port == ["53", "8000-8099"]
    assert acl.rules[1].sources == ["bravo-hq", "10.1.2.0/24"] and acl.rules[1].both
    assert Acl.model_validate({}).default == "allow"


def test_topology_with_acl_loads_and_reaches_the_plan():
    topo = parse_topology(_topo("{default: deny, rules: [{from: proc, to: db, proto: tcp, port: 5432, "
                                "action: allow}]}"))
    vpc = [v for v in topo.vpcs if v.name == "bravo-vpc"][0]
    assert vpc.acl.default == "deny" and vpc.acl.rules[0].port == ["5432"]


@pytest.mark.parametrize("acl, expect", [
    ("{rules: [{from: prc, to: db, action: allow}]}", "unknown VM or site 'prc' in an access rule"),
    ("{rules: [{from: proc, to: db, proto: icmp, port: 22, action: allow}]}", "ports need proto tcp or udp"),
    ("{rules: [{from: proc, to: db, proto: tcp, port: 70000, action: allow}]}", "port 70000 is out of range"),
    ("{rules: [{from: proc, to: db, proto: tcp, port: 90-80, action: allow}]}", "invalid port range '90-80'"),
    ("{rules: [{from: proc, to: db, proto: sctp, action: allow}]}", "Input should be 'tcp', 'udp', 'icmp' or 'any'"),
    ("{rules: [{from: proc, to: 10.1.100.1/24, action: deny}]}", "'10.1.100.1/24' has host bits set"),
    ("{rules: [{from: proc, to: db, action: permit}]}", "Input should be 'allow' or 'deny'"),
    ("{default: reject}", "Input should be 'allow' or 'deny'"),
    ("{rules: [{name: a, from: proc, to: db, action: allow}, {name: a, from: db, to: proc, action: deny}]}",
     "rule name 'a' is used twice"),
])
def test_bad_rules_are_reported_with_position_and_hint(acl, expect):
    problems = _problems(_topo(acl))
    assert len(problems) == 1, problems
    assert expect in problems[0]
    assert problems[0].startswith("t.yaml:") and "(at vpcs.1.acl" in problems[0] and "hint:" in problems[0]


def test_acl_on_a_vpls_vpc_is_refused():
    problems = _problems(_topo("{rules: [{from: any, to: any, action: deny}]}", vpc="acme-vpc"))
    assert len(problems) == 1 and "l3vpn VPCs only" in problems[0] and "(at vpcs.0.acl)" in problems[0]


def test_hint_names_the_close_vm_and_another_vpcs_vm():
    acl = Acl.model_validate({"rules": [{"from": "prox", "to": "web", "action": "allow"}]})
    probs = list(check_acl(acl, ("acl",), "l3vpn", ["proc"], ["bravo-hq"], {"web": "other-vpc"}))
    assert "did you mean 'proc'?" in probs[0].hint
    assert "belongs to VPC 'other-vpc'" in probs[1].message


def _vpc(acl=RULES, resolved=None):
    resolved = resolved if resolved is not None else {
        "proc": ["10.1.100.2/32"], "db": ["10.1.100.3/32"], "bravo-hq": ["10.1.1.0/24"],
        "10.1.2.0/24": ["10.1.2.0/24"], "any": None, "dc2": ["10.1.100.3/32"]}
    return VpcRules("bravo-vpc", "bravo", "10.1.100.0/24", Acl.model_validate(acl), resolved)


def test_rules_compile_in_order_with_named_counters_and_a_default_verdict():
    lines = rule_lines(_vpc())
    assert lines[0] == "ct state established,related return"
    assert lines[1] == ('ip saddr { 10.1.100.2/32 } ip daddr { 10.1.100.3/32 } meta l4proto tcp th dport { 5432 } '
                        'counter name "bravo_vpc__pg" return')
    # both: the reverse direction, same counter
    assert lines[2] == ('ip saddr { 10.1.1.0/24, 10.1.2.0/24 } ip daddr { 10.1.100.3/32 } meta l4proto icmp '
                        'counter name "bravo_vpc__r2" drop')
    assert lines[3] == ('ip saddr { 10.1.100.3/32 } ip daddr { 10.1.1.0/24, 10.1.2.0/24 } meta l4proto icmp '
                        'counter name "bravo_vpc__r2" drop')
    assert lines[4] == ('ip daddr { 10.1.100.3/32 } meta l4proto udp th dport { 53, 8000-8099 } '
                        'counter name "bravo_vpc__r3" return')
    assert lines[-1] == 'counter name "bravo_vpc__default" drop'


def test_a_rule_whose_vm_is_not_attached_is_left_out_not_widened():
    lines = rule_lines(_vpc(resolved={"proc": [], "db": ["10.1.100.3/32"], "bravo-hq": [], "10.1.2.0/24": [],
                                      "any": None, "dc2": []}))
    assert [ln for ln in lines if "saddr" in ln or "daddr" in ln] == []
    assert sum(ln.startswith("# ") for ln in lines) == 4


def test_table_per_namespace_kernel_vrf_and_fallback():
    fallback = render([VrfScope("bravo")], [_vpc()], {counter_name("bravo-vpc", "pg"): (7, 420)})
    assert fallback.startswith("table inet cloudnet_acl\ndelete table inet cloudnet_acl\n")
    assert "counter bravo_vpc__pg { packets 7 bytes 420 }" in fallback
    assert "    jump vrf_bravo\n" in fallback and "iifname" not in fallback
    assert "ip saddr 10.1.100.0/24 jump vpc_bravo_vpc" in fallback
    kernel = render([VrfScope("bravo", "vrf-bravo", ["bravo-hq", "dc1.100"])], [_vpc()])
    assert 'iifname { "vrf-bravo", "bravo-hq", "dc1.100" } jump vrf_bravo' in kernel
    assert 'oifname { "vrf-bravo", "bravo-hq", "dc1.100" } jump vrf_bravo' in kernel
    # kernel VRF only: an MPLS-popped packet leaves through the VRF device (OUTPUT, not FORWARD);
    # the PE's own packets (a local source address in the VRF) are not judged
    assert "hook output" not in fallback
    kernel = render([VrfScope("bravo", "vrf-bravo", ["bravo-hq", "dc1.100"], ["100.65.0.1"])], [_vpc()])
    out = kernel[kernel.index("chain output {"):]
    assert out.index('oifname { "vrf-bravo", "bravo-hq", "dc1.100" } ip saddr { 100.65.0.1 } accept') < out.index(
        'oifname { "vrf-bravo", "bravo-hq", "dc1.100" } jump vrf_bravo')
    # a VRF of a tenant without rules here gets no chain
    assert "vrf_acme" not in render([VrfScope("acme", "vrf-acme"), VrfScope("bravo")], [_vpc()])


def test_counters_are_read_back_from_nft_json():
    listing = {"nftables": [{"metainfo": {}}, {"counter": {"family": "inet", "name": "bravo_vpc__pg",
                                                           "table": "cloudnet_acl", "packets": 3, "bytes": 180}}]}
    assert parse_counters(listing) == {"bravo_vpc__pg": (3, 180)}


def test_bad_rules_fail_in_the_model():
    with pytest.raises(ValidationError):
        Acl.model_validate({"rules": [{"from": "a", "to": "b", "action": "allow", "port": []}]})


def test_the_plan_carries_a_topologys_rules_to_the_network_manager():
    from cloudnet_emu.plan.build import build_plan
    from cloudnet_emu.plan.choose import choose
    from cloudnet_emu.probe import Feature
    kernel = ["root", "ovs", "vrf", "vxlan", "bridge", "vlan_filtering", "8021q", "mpls", "mpls_iptunnel", "htb",
              "tbf", "netem", "ovs_kernel_datapath"]
    topo = parse_topology(_topo("{default: deny, rules: [{name: pg, from: proc, to: db, proto: tcp, port: 5432, "
                                "action: allow}]}"))
    info = build_plan(topo, choose(topo, {k: Feature(True, "test") for k in kernel})).info["vpcs"]
    acl = Acl.model_validate(info["bravo-vpc"]["acl"])      # what AclAtPes reads back
    assert acl.default == "deny" and acl.names() == ["pg"] and acl.rules[0].sources == ["proc"]
    assert info["acme-vpc"]["acl"] is None


def test_every_vpc_chain_of_a_packet_judges_it_and_a_drop_wins():
    lab = VpcRules("bravo-lab", "bravo", "10.1.101.0/24", Acl.model_validate({"default": "allow"}), {})
    text = render([VrfScope("bravo")], [lab, _vpc()])
    vrf = text[text.index("chain vrf_bravo {"):text.index("chain vpc_")]
    assert vrf.split("\n")[1:6] == [
        "    ip saddr 10.1.101.0/24 jump vpc_bravo_lab",
        "    ip saddr != 10.1.101.0/24 ip daddr 10.1.101.0/24 jump vpc_bravo_lab",   # once per VPC
        "    ip saddr 10.1.100.0/24 jump vpc_bravo_vpc",
        "    ip saddr != 10.1.100.0/24 ip daddr 10.1.100.0/24 jump vpc_bravo_vpc",
        "    accept"]
    # allows return (the next VPC judges too), denies drop: no VPC chain accepts
    assert 'counter name "bravo_lab__default" return' in text and 'counter name "bravo_vpc__default" drop' in text
    assert " accept\n" not in text[text.index("chain vpc_"):]
