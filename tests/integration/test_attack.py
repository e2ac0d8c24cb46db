"""Isolation under attack, with real crafted frames, sniffers and state diffs.

Every case must have sent packets, its positive control must have seen its packets (the sniffers
would have seen a leak), and nothing may leak.  One attack run serves the per-case asserts; the
negative controls remove a defence and prove the same case then reports the leak.
"""
from __future__ import annotations

import json
import subprocess

import pytest

from cloudnet_emu import attack, naming, state
from cloudnet_emu.attack.result import Result, all_held
from cloudnet_emu.attack.tools import Env, traces
from cloudnet_emu.checks import all_checks
from cloudnet_emu.verdict import Status
from cloudnet_emu.managers.ledger import Ledger
from tests.conftest import FULL_KERNEL

pytestmark = [pytest.mark.vmtier, pytest.mark.control("static")]     # the attack suite on the planner-written world; under bgp: test_attack_bgp.py

CASES = ["label_spoof", "tunnel_inject", "sweep", "overlap", "vrf_fallthrough", "vlan_hop", "arp_spoof",
         "mac_flap", "reconverge"]
# The VM tier (~10x slower) runs the realization-specific cases: MPLS labels, kernel VRFs, VLANs on
# the OVS kernel datapath, port security rules there.
VM_TIER_CASES = ["label_spoof", "tunnel_inject", "sweep", "vrf_fallthrough", "vlan_hop", "arp_spoof"]
RUN = VM_TIER_CASES if FULL_KERNEL else CASES


@pytest.fixture(scope="module")
def attacked(figure1):
    env = Env.open(figure1["testbed"])
    results = {r.case: r for r in attack.run(figure1["testbed"], RUN, env=env)}
    return figure1, results, env.suspects


@pytest.mark.parametrize("case", CASES)
def test_case_holds_with_a_seeing_control(attacked, case):
    record, results, _ = attacked
    if case not in RUN:
        pytest.skip("not in the VM tier's lean subset")
    r = results[case]
    assert r.realization.startswith(f"{record['realizations']['core']}/")
    assert r.sent > 0, r.to_dict()
    assert r.control > 0, f"{case}: the positive control saw nothing: {r.to_dict()}"
    assert r.leaked == 0, r.to_dict()
    assert r.state_changed == [], r.to_dict()
    assert r.status is Status.PASS and r.held, r.to_dict()
    assert r.sent_by and all(s.count > 0 for s in r.sent_by), r.to_dict()
    if case not in ("vrf_fallthrough", "mac_flap"):        # lookups and NM samples, not sniffers
        assert r.watched and all(w.control > 0 for w in r.watched), r.to_dict()


@pytest.mark.skipif(FULL_KERNEL, reason="mac_flap is not in the VM tier's lean subset")
def test_intra_tenant_arp_spoof_is_detected_and_mac_flapping_flagged(attacked):
    record, results, _ = attacked
    assert any("claims" in d for d in results["arp_spoof"].detected), results["arp_spoof"].to_dict()
    assert any("flagged after" in d for d in results["mac_flap"].detected), results["mac_flap"].to_dict()
    flagged = [k for k, e in Ledger(record["testbed"], "network").data.get("mac_moves", {}).items() if e["flagged"]]
    assert flagged, "the Network Manager's record shows no flagged MAC"


def test_the_attack_leaves_the_testbed_as_it_found_it(attacked):
    """No attack VM, no attack namespace, no neighbour entry naming a MAC the attack used in any
    namespace of the testbed, and the `cloudnet-emu check` verdicts all green right after."""
    record, _, suspects = attacked
    vms = Ledger(record["testbed"], "cloud").data.get("vms", {})
    assert not [n for n in vms if n.startswith("atk-")]
    assert not [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
                if n.startswith(naming.netns(record["testbed"], "atk-"))]
    assert set(attack.FORGED_MACS) < suspects, "the attack's VM MACs were not collected"
    assert traces(Env.open(record["testbed"]), suspects) == []
    checks = all_checks(record["testbed"], state.read(record["testbed"]))
    assert checks and all(c.passed for c in checks), [c for c in checks if not c.passed]


def test_cli_attack_table_and_exit_code(figure1, cli):
    res = subprocess.run([cli, "attack", figure1["testbed"], "--case", "vrf_fallthrough", "--case", "overlap",
                          "--json"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["case"] for r in rows] == ["vrf_fallthrough", "overlap"] and all(r["held"] for r in rows)
    assert all(r["status"] == "pass" and r["reason"] for r in rows)
    assert all_held([Result.from_dict(r) for r in rows])
    bad = subprocess.run([cli, "attack", "--case", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_port_security_rules_follow_the_vm(figure1):
    """`port_security: true`: the VM's rules are on its server bridge after attach, move with it
    when it migrates, and are gone after detach."""
    from cloudnet_emu import pipeline, vpcs
    from cloudnet_emu.managers import port_security
    name = figure1["testbed"]

    def rules(server, vm):
        out = subprocess.run(["ovs-ofctl", "dump-flows", naming.bridge(server),
                              f"cookie={port_security.cookie(vm):#x}/-1"], capture_output=True, text=True, check=True)
        return [line for line in out.stdout.splitlines() if "cookie=" in line]

    vpcs.create(name, {"name": "ps-vpc", "tenant": "acme", "type": "l3vpn", "subnet": "10.253.0.0/24",
                       "port_security": True})
    cloud, _ = pipeline.managers(name)
    try:
        vm = cloud.attach("ps-vpc", site="dc1", server="dc1-s1", mem_mb=16, name="ps1")
        got = rules("dc1-s1", "ps1")
        assert len(got) == 3 and any(f"arp_spa={vm['ip']}" in r for r in got) and any("drop" in r for r in got)
        cloud.migrate("ps1", "dc2")
        assert rules("dc1-s1", "ps1") == [] and len(rules("dc2-s1", "ps1")) == 3
    finally:
        if "ps1" in cloud.data["vms"]:
            server = cloud.data["vms"]["ps1"]["server"]
            cloud.detach("ps1")
            assert rules(server, "ps1") == []
        vpcs.delete(name, "ps-vpc")


@pytest.mark.skipif(FULL_KERNEL, reason="native only: the VM tier runs the lean subset above")
def test_attack_scenario(figure1, tmp_path):
    """scenarios/attack.yaml through the scenario runner on this module's testbed (its topology):
    every step and check ok.  Last in the module: it leaves its bystander VM attached."""
    from cloudnet_emu.scenario import runner
    report = runner.run("scenarios/attack.yaml", str(tmp_path), figure1["testbed"])
    bad = [(s["name"], s.get("status"), s.get("detail")) for s in report["steps"] + report["checks"] if not s["ok"]]
    assert report["ok"], bad
