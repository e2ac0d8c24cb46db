"""Access rules inside a VPC, with real traffic and real nft counters at the PEs.

bravo-vpc (L3VPN) gets `default: deny` and rules; TCP/UDP/ICMP probes between VMs and an
enterprise host show allowed pairs passing and denied pairs dropped in both directions,
with the matching rule's counter moving; the rules follow a migrated VM to its new PE; the
tables leave every namespace with the VPC's last VM and are gone after `down`.  A site the VPC
does not join (its PE has no rules) is judged at the egress PE (on an MPLS core: the `output`
hook), and traffic between two VPCs of bravo must pass both VPCs' rules.
"""
from __future__ import annotations

import subprocess

import pytest

from cloudnet_emu import pipeline, state, vpcs
from cloudnet_emu.acl.flow import run_flow
from cloudnet_emu.verdict import Status
from cloudnet_emu.acl.model import Flow
from cloudnet_emu.errors import SpecError
from cloudnet_emu.scenario import runner

RULES = {"default": "deny", "rules": [
    {"name": "db-port", "from": "proc", "to": "db", "proto": "tcp", "port": 5432, "action": "allow"},
    {"name": "dns", "from": "web", "to": "db", "proto": "udp", "port": 53, "action": "allow"},
    {"name": "no-ping", "from": "bravo-hq", "to": "db", "proto": "icmp", "action": "deny", "both": True},
]}


def _tables(testbed: str) -> dict[str, str]:
    """namespace -> its cloudnet_acl table (text), for every namespace of the testbed that has one."""
    out = {}
    for name in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split():
        if name.startswith(f"cn-{testbed}-"):
            res = subprocess.run(["ip", "netns", "exec", name, "nft", "list", "table", "inet", "cloudnet_acl"],
                                 capture_output=True, text=True)
            if res.returncode == 0:
                out[name] = res.stdout
    return out


def _flow(w, src, dst, proto, port=None, both=False, expect="pass"):
    """(status, reason, counter deltas) of real probes src -> dst (and back with both): PASS when
    allowed with its allow rule counting, FAIL when dropped by a deny rule that counted it."""
    v = run_flow(w, Flow(**{"from": src, "to": dst, "proto": proto, "port": port, "both": both}), expect)
    return v.status, v.reason, v.evidence["counters"]


@pytest.mark.vmtier
def test_rules_allow_deny_count_follow_and_go(testbed):
    tb = testbed["testbed"]
    cloud, network = pipeline.managers(tb)
    cloud.attach("bravo-vpc", site="dc1", name="web")
    cloud.attach("bravo-vpc", site="dc2", name="db")
    cloud.attach("bravo-vpc", site="dc2", name="proc")
    got = network.acl({"vpc": "bravo-vpc", "acl": RULES})
    assert got["pes"] == ["pe1", "pe2", "pe3", "pe4"]      # the enterprise sites' PEs and the cloud PEs
    tables = _tables(tb)
    assert len(tables) >= 1 and all("bravo_vpc__db_port" in t for t in tables.values())
    w = runner.World(tb)

    # allowed: UDP 53 web -> db (dc1 -> dc2, through pe3 and pe4), counted by its rule
    passed, detail, deltas = _flow(w, "web", "db", "udp", 53)
    assert passed is Status.PASS, detail
    assert deltas.get("bravo-vpc/dns", 0) >= 1, detail
    # denied by default, both ways: TCP 5432 web -> db and db -> web; the default counter moves
    passed, detail, deltas = _flow(w, "web", "db", "tcp", 5432, both=True, expect="fail")
    assert passed is Status.FAIL, detail
    assert "web->db tcp/5432 dropped" in detail and "db->web tcp/5432 dropped" in detail
    assert deltas.get("bravo-vpc/default", 0) >= 2, detail
    # a UDP port no rule allows
    passed, detail, _ = _flow(w, "web", "db", "udp", 54, expect="fail")
    assert passed is Status.FAIL, detail
    # an explicit deny, both ways (ICMP between the enterprise site and db); its own counter moves
    passed, detail, deltas = _flow(w, "bravo-h1", "db", "icmp", both=True, expect="fail")
    assert passed is Status.FAIL, detail
    assert deltas.get("bravo-vpc/no-ping", 0) >= 2, detail

    # db migrates to dc1 (PE pe3): proc (dc2, pe4) still reaches it on 5432 only through the
    # allow rule (default deny), and the enterprise host is still denied: the rules followed it
    cloud.migrate("db", "dc1")
    cloud, network = pipeline.managers(tb)
    w = runner.World(tb)
    passed, detail, deltas = _flow(w, "proc", "db", "tcp", 5432)
    assert passed is Status.PASS, detail
    assert deltas.get("bravo-vpc/db-port", 0) >= 1, detail
    passed, detail, _ = _flow(w, "proc", "db", "tcp", 5433, expect="fail")
    assert passed is Status.FAIL, detail
    passed, detail, deltas = _flow(w, "bravo-h1", "db", "icmp", expect="fail")
    assert passed is Status.FAIL and deltas.get("bravo-vpc/no-ping", 0) >= 1, detail

    # acl list: the counters, summed over PEs, are those nft holds
    listing = network.acl_list({})["acls"][0]
    rules = {r["name"]: r for r in listing["rules"]}
    assert sum(p for p, _ in rules["no-ping"]["counters"].values()) >= 3
    assert sum(p for p, _ in rules["db-port"]["counters"].values()) >= 1

    # the VPC's last VM leaves: no table anywhere
    for vm in ("web", "db", "proc"):
        cloud.detach(vm)
    assert _tables(tb) == {}
    _, network = pipeline.managers(tb)
    assert network.acl_list({})["acls"][0]["pes"] == []


def test_rules_are_checked_against_the_running_testbed(testbed, tmp_path, cli):
    tb = testbed["testbed"]
    _, network = pipeline.managers(tb)
    bad = tmp_path / "bad.yaml"
    bad.write_text("default: deny\nrules:\n  - {from: bravo-hq, to: any, proto: tcp, port: 99999, action: allow}\n")
    res = subprocess.run([cli, "acl", "set", "bravo-vpc", str(bad), "-t", tb], capture_output=True, text=True)
    assert res.returncode == 2 and f"{bad}:3:" in res.stderr and "port 99999 is out of range" in res.stderr
    good = tmp_path / "good.yaml"
    good.write_text("default: deny\nrules:\n  - {name: pg, from: bravo-hq, to: any, proto: tcp, port: 5432, "
                    "action: allow}\n")
    res = subprocess.run([cli, "acl", "set", "bravo-vpc", str(good), "-t", tb], capture_output=True, text=True)
    assert res.returncode == 0 and "no PE yet" in res.stdout, res.stderr
    res = subprocess.run([cli, "acl", "list", tb], capture_output=True, text=True)
    assert res.returncode == 0 and "bravo-vpc: default deny" in res.stdout and " pg " in res.stdout, res.stderr
    assert _tables(testbed["testbed"]) == {}        # no VM, no endpoint: nothing at the PEs yet
    res = subprocess.run([cli, "acl", "clear", "bravo-vpc", "-t", tb], capture_output=True, text=True)
    assert res.returncode == 0 and pipeline.managers(testbed["testbed"])[1].acl_list({})["acls"] == []
    with pytest.raises(SpecError, match="unknown VM or site 'nosuch'"):
        network.acl({"vpc": "bravo-vpc", "acl": {"rules": [{"from": "nosuch", "to": "any", "action": "deny"}]}})
    with pytest.raises(SpecError, match="l3vpn VPCs only"):
        network.acl({"vpc": "acme-vpc", "acl": {"rules": [{"from": "any", "to": "any", "action": "deny"}]}})
    assert _tables(testbed["testbed"]) == {}


def test_acl_scenario(clean_machine, tmp_path):
    report = runner.run("scenarios/acl.yaml", str(tmp_path))
    bad = [s for s in report["steps"] + report["checks"] if not s["ok"]]
    assert report["ok"], bad
    flows = [c for c in report["checks"] if c["kind"] == "access"]
    assert len(flows) >= 3 and any("counters bravo-vpc/" in c["detail"] for c in flows)
    assert state.read("cloudnet") is None and _tables("cloudnet") == {}


def _lab_vpc(tb: str, sites: list[str]) -> None:
    """A second l3vpn VPC of bravo on the running testbed (named before bravo-vpc)."""
    vpcs.create(tb, {"name": "bravo-lab", "tenant": "bravo", "type": "l3vpn", "subnet": "10.1.101.0/24",
                     "sites": sites})


@pytest.mark.vmtier
def test_the_egress_pe_judges_a_source_behind_a_pe_without_rules(testbed):
    """bravo-br (pe2) is a site of bravo the VPC does not join: pe2 has no rules, so the egress PE
    (pe4, where an MPLS core pops the packet into the kernel VRF: OUTPUT, not FORWARD) must judge."""
    tb = testbed["testbed"]
    _lab_vpc(tb, ["bravo-hq"])
    cloud, network = pipeline.managers(tb)
    cloud.attach("bravo-lab", site="dc2", name="lab1")
    got = network.acl({"vpc": "bravo-lab", "acl": {"default": "deny", "rules": [
        {"name": "br-web", "from": "10.1.2.0/24", "to": "lab1", "proto": "tcp", "port": 80, "action": "allow"}]}})
    assert got["pes"] == ["pe1", "pe4"]
    w = runner.World(tb)
    passed, detail, deltas = _flow(w, "bravo-h3", "lab1", "icmp", both=True, expect="fail")
    assert passed is Status.FAIL, detail
    assert deltas.get("bravo-lab/default", 0) >= 2, detail
    passed, detail, deltas = _flow(w, "bravo-h3", "lab1", "tcp", 81, expect="fail")
    assert passed is Status.FAIL, detail
    passed, detail, deltas = _flow(w, "bravo-h3", "lab1", "tcp", 80)
    assert passed is Status.PASS and deltas.get("bravo-lab/br-web", 0) >= 1, detail
    # the PE's own traffic into the VRF (its address, not a VPC's) is not judged: pe4 still pings lab1
    node, master = network.ledger.data["acl_at"]["bravo-lab"]["pe4"]
    ping = ["ping", "-c", "2", "-W", "2"] + (["-I", master] if master else []) + [w.address("lab1")]
    res = subprocess.run(["ip", "netns", "exec", f"cn-{tb}-{node}"] + ping, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr + _tables(tb).get(f"cn-{tb}-{node}", "")
    cloud.detach("lab1")
    assert _tables(tb) == {}


@pytest.mark.vmtier
def test_every_vpc_chain_judges_traffic_between_two_vpcs(testbed):
    """bravo-lab (default allow) sorts before bravo-vpc (default deny): traffic between them must
    pass both VPCs' rules, not only the first chain's."""
    tb = testbed["testbed"]
    _lab_vpc(tb, [])
    cloud, network = pipeline.managers(tb)
    # one cloud site: the two VPCs' logical CEs meet only at pe4, whose table holds both chains
    cloud.attach("bravo-lab", site="dc2", name="lab1")
    cloud.attach("bravo-vpc", site="dc2", name="db")
    network.acl({"vpc": "bravo-lab", "acl": {"default": "allow", "rules": [
        {"name": "no-8080", "from": "any", "to": "10.1.100.0/24", "proto": "tcp", "port": 8080, "action": "deny"}]}})
    network.acl({"vpc": "bravo-vpc", "acl": {"default": "deny", "rules": [
        {"name": "from-lab", "from": "10.1.101.0/24", "to": "db", "proto": "tcp", "port": [5432, 8080],
         "action": "allow"}]}})
    w = runner.World(tb)
    # bravo-lab allows it (default), bravo-vpc denies it (default): dropped, both ways
    passed, detail, deltas = _flow(w, "lab1", "db", "tcp", 5433, both=True, expect="fail")
    assert passed is Status.FAIL, detail
    assert deltas.get("bravo-vpc/default", 0) >= 2, detail
    # both allow it: passes, and each VPC's counter that judged it moved
    passed, detail, deltas = _flow(w, "lab1", "db", "tcp", 5432)
    assert passed is Status.PASS, detail
    assert deltas.get("bravo-lab/default", 0) >= 1 and deltas.get("bravo-vpc/from-lab", 0) >= 1, detail
    # bravo-vpc allows it, bravo-lab denies it: dropped, by bravo-lab's rule
    passed, detail, deltas = _flow(w, "lab1", "db", "tcp", 8080, expect="fail")
    assert passed is Status.FAIL and deltas.get("bravo-lab/no-8080", 0) >= 1, detail
    for vm in ("lab1", "db"):
        cloud.detach(vm)
    assert _tables(tb) == {}
