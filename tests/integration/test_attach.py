"""VPC attach (Figure 2) on the running kernel: the four steps, placement, isolation, undo."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from cloudnet_emu import lifecycle, naming, pipeline
from cloudnet_emu.errors import PlacementError
from cloudnet_emu.migration.soak import snapshot
from cloudnet_emu.scenario import runner
from tests.conftest import FULL_KERNEL

TOPO = "topologies/cloudnet.yaml"



def _ns_state(testbed: str) -> dict:
    """Everything of the testbed a detach must restore: links, addresses, routes (all tables), OVS."""
    return snapshot(testbed)


@pytest.mark.vmtier
def test_attach_scenario_passes(clean_machine, tmp_path):
    report = runner.run("scenarios/attach.yaml", str(tmp_path))
    bad = [s for s in report["steps"] + report["checks"] if not s["ok"]]
    assert report["ok"], bad
    saved = json.loads((tmp_path / "report.json").read_text())
    assert set(saved) == {"ok", "scenario", "topology", "realization", "steps", "checks", "metrics", "counts"}
    assert (tmp_path / "report.xml").read_text().startswith("<?xml")
    first = saved["steps"][0]
    # under bgp step 4 lasts until every remote PE routes the VM, and says that part apart
    propagated = ["propagated"] if saved["realization"]["control"] == "bgp" else []
    assert [p["name"] for p in first["phases"]] == ["vm", "vlan", "lce", "vpn"] + propagated
    assert all(p["duration_ms"] > 0 for p in first["phases"])
    kinds = {c["kind"] for c in saved["checks"]}
    assert kinds == {"reachability", "isolation", "encapsulation", "state"}


@pytest.mark.vmtier
def test_four_steps_build_real_state(testbed):
    cloud, network = pipeline.managers()
    vm = cloud.attach("bravo-vpc", site="dc1", name="web")
    tb = testbed["testbed"]
    # 1. the VM is a namespace with its own MAC and address
    link = subprocess.run(["ip", "-n", naming.netns(tb, "web"), "-j", "addr", "show", "eth0"], capture_output=True,
                          text=True).stdout
    link = json.loads(link)[0]
    assert link["address"] == vm["mac"] and link["addr_info"][0]["local"] == vm["ip"] == "10.1.100.2"
    # 2. its port is an access port of the VPC's VLAN on its server's bridge
    tag = subprocess.run(["ovs-vsctl", "get", "port", "cnv-web", "tag"], capture_output=True, text=True).stdout
    assert int(tag) == vm["vlan"] == 100
    # 3. a logical CE holds the VPC gateway
    ce = cloud.ledger.meta("lce:dc1/bravo-vpc")["ce"]
    addrs = subprocess.run(["ip", "-n", naming.netns(tb, ce["node"]), "-br", "addr"], capture_output=True,
                           text=True).stdout
    assert "10.1.100.1/24" in addrs
    if FULL_KERNEL:
        assert ce["master"] == "vrf-bravo-vpc" and ce["node"] == "dc1"
    # 4. the PE has the attachment circuit and every PE of bravo a host route to the VM
    ep = network.ledger.meta("ep:bravo-vpc@dc1")
    assert ep["pe"] == "pe3" and ep["pe_if"] == "dc1.100"
    for pe in ("pe1", "pe2", "pe3"):
        place = (testbed["info"]["vrfs"].get(f"{pe}/bravo") or
                 network.ledger.meta(f"vrf:{pe}/bravo")["placement"])
        argv = ["ip", "-n", naming.netns(tb, place["node"]), "route", "show"]
        argv += ["table", str(place["table"])] if place["table"] else []
        routes = subprocess.run(argv + ["10.1.100.2/32"], capture_output=True, text=True).stdout
        assert routes.strip(), f"no host route on {pe}"
    res = subprocess.run(["ip", "netns", "exec", naming.netns(tb, "web"), "ping", "-c2", "-W2", "10.1.1.2"])
    assert res.returncode == 0


# Native only: in the VM tier the attach scenario above puts VPLS VMs in both cloud sites and has them
# reach acme's LAN hosts over the MPLS core and the kernel datapath, which needs the same ARP answered.
def test_vpls_vm_is_on_the_enterprise_lan(testbed):
    """An ARP broadcast from the VM is answered by a host on acme-hq's LAN."""
    cloud, _ = pipeline.managers()
    vm = cloud.attach("acme-vpc", site="dc2", name="proc")
    assert vm["ip"] == "10.1.1.254" and vm["gateway"] == "10.1.1.1"
    res = subprocess.run(["ip", "netns", "exec", naming.netns(testbed["testbed"], "proc"), "arping", "-c", "2",
                          "-w", "3", "-I", "eth0", "10.1.1.2"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    lan_mac = subprocess.run(["ip", "-n", naming.netns(testbed["testbed"], "acme-h1"), "-j", "link", "show", "eth0"],
                             capture_output=True, text=True).stdout
    assert json.loads(lan_mac)[0]["address"] in res.stdout.lower()


def _vpls_wiring(tb: str, vpc: str) -> dict:
    """Where a VPLS VPC's objects are: its bridge on each PE, and its port on the enterprise LAN."""
    out = {}
    for pe in ("pe1", "pe2", "pe3", "pe4"):
        res = subprocess.run(["ip", "-n", naming.netns(tb, pe), "-j", "link", "show", naming.vpls_bridge(vpc)],
                             capture_output=True, text=True)
        out[pe] = res.returncode == 0
    lan = subprocess.run(["ip", "-n", naming.netns(tb, "acme-br"), "-j", "link", "show", "master", "lan"],
                         capture_output=True, text=True, check=True).stdout
    out["lan port"] = f"v-{vpc}" in {d["ifname"] for d in json.loads(lan)}
    return out


def test_a_vpls_vpc_made_at_run_time_brings_its_enterprise_side_and_takes_it_away(testbed, cli):
    """`vpc create` of a VPLS VPC wires the enterprise site's LAN to a VPLS instance at the site's PE
    before any attach; attach and detach then touch the cloud site's PE alone; `vpc delete` takes the
    enterprise side away.  The VM reaches a host of the LAN (ARP answered) in between."""
    tb = testbed["testbed"]
    made = subprocess.run([cli, "vpc", "create", "acme-lab", "--testbed", tb, "--tenant", "acme", "--type", "vpls",
                           "--site", "acme-br"], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert _vpls_wiring(tb, "acme-lab") == {"pe1": False, "pe2": True, "pe3": False, "pe4": False, "lan port": True}
    cloud, _ = pipeline.managers()
    vm = cloud.attach("acme-lab", site="dc1", name="lab1")
    assert _vpls_wiring(tb, "acme-lab") == {"pe1": False, "pe2": True, "pe3": True, "pe4": False, "lan port": True}
    res = subprocess.run(["ip", "netns", "exec", naming.netns(tb, "lab1"), "arping", "-c", "2", "-w", "3", "-I",
                          "eth0", "10.1.2.2"], capture_output=True, text=True)
    assert res.returncode == 0 and vm["ip"].startswith("10.1.2."), res.stdout + res.stderr
    cloud.detach("lab1")
    assert _vpls_wiring(tb, "acme-lab") == {"pe1": False, "pe2": True, "pe3": False, "pe4": False, "lan port": True}
    gone = subprocess.run([cli, "vpc", "delete", "acme-lab", "--testbed", tb], capture_output=True, text=True)
    assert gone.returncode == 0, gone.stderr
    assert _vpls_wiring(tb, "acme-lab") == {"pe1": False, "pe2": False, "pe3": False, "pe4": False, "lan port": False}


def test_placement_policies_and_capacity(testbed):
    cloud, _ = pipeline.managers()
    # dc1 has two 16-vCPU servers: first-fit fills dc1-s1 first, worst-fit spreads, best-fit packs
    a = cloud.attach("bravo-vpc", site="dc1", vcpus=10, name="a")
    b = cloud.attach("bravo-vpc", site="dc1", vcpus=4, name="b", policy="worst-fit")
    c = cloud.attach("bravo-vpc", site="dc1", vcpus=5, name="c", policy="best-fit")
    d = cloud.attach("bravo-vpc", site="dc1", vcpus=1, name="d", server="dc1-s2")
    assert (a["server"], b["server"], c["server"], d["server"]) == ("dc1-s1", "dc1-s2", "dc1-s1", "dc1-s2")
    assert cloud.free("dc1-s1") == (1, 32768 - 1024) and cloud.free("dc1-s2") == (11, 32768 - 1024)
    before = _ns_state(testbed["testbed"])
    with pytest.raises(PlacementError, match="biggest free slot is dc1-s2 with 11 vCPU"):
        cloud.attach("bravo-vpc", site="dc1", vcpus=12)
    with pytest.raises(PlacementError, match="already taken by a"):
        cloud.attach("bravo-vpc", site="dc2", ip=a["ip"])
    with pytest.raises(PlacementError, match="taken by a node"):
        cloud.attach("bravo-vpc", site="dc2", name="pe1")
    assert _ns_state(testbed["testbed"]) == before, "a refused attach left something behind"
    cloud.detach("a")
    assert cloud.free("dc1-s1") == (11, 32768 - 512)


def test_attach_detach_50_times_restores_everything(testbed):
    cloud, _ = pipeline.managers()
    before = _ns_state(testbed["testbed"])
    for i in range(25):
        vpc = "bravo-vpc" if i % 2 else "acme-vpc"
        site = "dc1" if i % 3 else "dc2"
        vm = cloud.attach(vpc, site=site)
        other = cloud.attach("bravo-vpc", site="dc2" if site == "dc1" else "dc1")
        cloud.detach(vm["name"])
        cloud.detach(other["name"])
    assert cloud.vms() == [] and cloud.data["vlans"] in ({}, {"dc1": {}, "dc2": {}}, {"dc1": {}}, {"dc2": {}})
    assert _ns_state(testbed["testbed"]) == before


def test_a_vpc_that_leaves_a_site_and_comes_back_is_reachable(testbed):
    """The last VM out of dc1 takes bravo's VRF on pe3 with it; the next one rebuilds it.  The other
    PEs still hold a neighbour entry for pe3's transit address: the rebuilt device must answer to it."""
    tb = testbed["testbed"]
    cloud, _ = pipeline.managers(tb)

    def pings(vm):
        return [subprocess.run(["ip", "netns", "exec", naming.netns(tb, src), "ping", "-c2", "-W2", vm["ip"]],
                               capture_output=True).returncode for src in ("bravo-h1", "bravo-h3")]
    vm = cloud.attach("bravo-vpc", site="dc1", name="back1")
    assert pings(vm) == [0, 0]
    cloud.detach("back1")
    for name in ("back1", "back2"):        # the same VM again, then another one on the same address
        vm = cloud.attach("bravo-vpc", site="dc1", name=name)
        assert pings(vm) == [0, 0], f"{name} ({vm['ip']}) is unreachable after the VPC came back to dc1"
        cloud.detach(name)


def test_a_vm_attached_again_under_the_name_of_one_whose_namespace_lives_on(testbed):
    """A deleted namespace lives on while anything holds it (here an open file of it; a TCP orphan
    retransmitting its FIN does the same for minutes), and the VM port's veth with it: the next
    VM of that name must not be refused the port's name."""
    tb = testbed["testbed"]
    cloud, _ = pipeline.managers(tb)
    cloud.attach("bravo-vpc", site="dc1", name="held")
    fd = os.open(f"/run/netns/{naming.netns(tb, 'held')}", os.O_RDONLY)
    try:
        cloud.detach("held")
        root_links = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True).stdout
        assert naming.vm_port("held") in {link["ifname"] for link in json.loads(root_links)}, "nothing held"
        vm = cloud.attach("bravo-vpc", site="dc1", name="held")
        res = subprocess.run(["ip", "netns", "exec", naming.netns(tb, "bravo-h1"), "ping", "-c2", "-W2", vm["ip"]],
                             capture_output=True)
        assert res.returncode == 0, "the VM attached again is unreachable"
        cloud.detach("held")
    finally:
        os.close(fd)


def test_cli_vm_commands(testbed, cli):
    res = subprocess.run([cli, "vm", "attach", "bravo-vpc", "--site", "dc2", "--name", "db", "--json"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["steps_ms"]["total"] > 0
    res = subprocess.run([cli, "vm", "list", "--json"], capture_output=True, text=True)
    assert [v["name"] for v in json.loads(res.stdout)] == ["db"]
    res = subprocess.run([cli, "vm", "attach", "bravo-vpc", "--vcpus", "1000"], capture_output=True, text=True)
    assert res.returncode == 1 and "biggest free slot" in res.stderr
    res = subprocess.run([cli, "vm", "detach", "db"], capture_output=True, text=True)
    assert res.returncode == 0 and "detached db" in res.stdout


def test_topology_vms_are_attached_at_up(clean_machine, tmp_path):
    text = open(TOPO).read().replace(
        "  - {name: bravo-vpc, tenant: bravo, type: l3vpn, subnet: 10.1.100.0/24, sites: [bravo-hq, bravo-br]}",
        "  - name: bravo-vpc\n    tenant: bravo\n    type: l3vpn\n    subnet: 10.1.100.0/24\n"
        "    sites: [bravo-hq, bravo-br]\n    vms:\n      - {name: app1, site: dc1}\n"
        "      - {name: app2, site: dc2, ip: 10.1.100.50}\n")
    topo = tmp_path / "with-vms.yaml"
    topo.write_text(text)
    record = pipeline.up(str(topo), degrade=not FULL_KERNEL)
    try:
        cloud, _ = pipeline.managers()
        assert {v["name"]: v["ip"] for v in cloud.vms()} == {"app1": "10.1.100.2", "app2": "10.1.100.50"}
        res = subprocess.run(["ip", "netns", "exec", naming.netns(record["testbed"], "app2"), "ping", "-c1", "-W2",
                              "10.1.100.2"])
        assert res.returncode == 0
    finally:
        lifecycle.down(record["testbed"])
