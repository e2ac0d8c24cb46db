"""The testbed core on the running kernel: cloudnet.yaml up, traffic, isolation, clean-up.

The read-only tests share one testbed (`figure1`, module-scoped, guarded for leftovers);
tests that build their own get `clean_machine`.

On the VM tier (CLOUDNET_EXPECT_FULL_KERNEL=1) the same tests also assert that the
kernel realizations (VRF devices, MPLS, kernel datapath, netem) were used.
"""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from cloudnet_emu import checks, naming, pipeline
from cloudnet_emu.errors import StateError, UnsupportedError
from tests.conftest import FULL_KERNEL

TOPO = "topologies/cloudnet.yaml"
pytestmark = pytest.mark.vmtier


def _ns(record, node):
    return naming.netns(record["testbed"], node)


def _run(argv, timeout=60):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def test_figure1_comes_up_and_isolates_tenants(figure1):
    results = checks.all_checks(figure1["testbed"], figure1)
    failed = [r for r in results if not r.passed]
    # the whole verdicts as a plain message: pytest shortens a repr, and the reason is the evidence
    assert not failed, "\n".join(json.dumps(r.to_dict()) for r in failed)
    kinds = {r.kind for r in results}
    # under bgp `check` also judges the control plane: sessions Established, routes installed
    assert kinds == {"reach", "isolated", "encap"} | ({"control"} if figure1["realizations"]["control"] == "bgp" else set())
    # at least: every same-tenant site pair, the Internet against every host, the overlap both ways
    assert sum(r.kind == "reach" for r in results) >= 8
    assert sum(r.name.startswith("inet ->") and r.kind == "isolated" for r in results) == 7
    assert sum("stays in" in r.name for r in results) >= 2
    # every isolation verdict names its live watchers: all other tenants' namespaces and inet
    for r in results:
        if r.kind == "isolated":
            assert r.watched and all(w.control >= 2 for w in r.watched), r
            assert r.sent[0].count > 0, r
    # an encapsulation verdict for each tenant's VPN, not only the first, each capture seeing its control
    assert sum(r.kind == "encap" for r in results) == 2
    assert all(w.control == 1 and w.seen > 0 for r in results if r.kind == "encap" for w in r.watched), results


def test_realizations_are_the_ones_doctor_announces(figure1):
    real = figure1["realizations"]
    if FULL_KERNEL:
        assert real == {"router": "vrf", "core": "mpls", "datapath": "system", "control": "static"}
        vrfs = _run(["ip", "-n", _ns(figure1, "pe1"), "-j", "-d", "link", "show", "type", "vrf"])
        names = {l["ifname"]: l["linkinfo"]["info_data"]["table"] for l in json.loads(vrfs.stdout)}
        assert names == {"vrf-acme": 100, "vrf-bravo": 101}
        dp = _run(["ovs-vsctl", "get", "bridge", "cnb-dc1", "datapath_type"]).stdout.strip().strip('"')
        assert dp == "system"
        assert figure1["degradations"] == []
    else:
        assert real["router"] == "netns" and real["core"] == "vxlan" and real["datapath"] == "netdev"
        assert real["control"] == "bgp"         # FRR runs here: the provider network routes itself
        # the VRF of acme on pe1 is a namespace holding the CE-facing interface
        links = _run(["ip", "-n", _ns(figure1, "pe1.acme"), "-br", "link"]).stdout
        assert re.search(r"^acme-hq@", links, re.M), links
        dp = _run(["ovs-vsctl", "get", "bridge", "cnb-dc1", "datapath_type"]).stdout.strip().strip('"')
        assert dp == "netdev"


def test_no_interface_in_the_testbed_has_an_ipv6_address(figure1):
    """IPv4 only, so no duplicate address detection, router solicitation or MLD in a capture: a
    router's namespace turns IPv6 off, a VM's or host's interfaces make no link-local address."""
    prefix = naming.netns(figure1["testbed"], "")
    names = [n["name"] for n in json.loads(_run(["ip", "-j", "netns", "list"]).stdout or "[]")
             if n["name"].startswith(prefix)]
    assert len(names) >= 10, names
    speaking = {}
    for name in names:
        addrs = json.loads(_run(["ip", "-n", name, "-6", "-j", "addr", "show"]).stdout or "[]")
        found = [(a["ifname"], i["local"]) for a in addrs for i in a.get("addr_info", []) if a["ifname"] != "lo"]
        if found:
            speaking[name] = found
    assert not speaking


def test_vrf_tables_have_an_unreachable_default(figure1):
    """Nothing falls through from a tenant VRF to the provider's global table."""
    pe1 = _ns(figure1, "pe1")
    if figure1["realizations"]["router"] == "vrf":
        out = _run(["ip", "-n", pe1, "route", "show", "vrf", "vrf-acme", "default"]).stdout
    else:
        out = _run(["ip", "-n", _ns(figure1, "pe1.acme"), "route", "show", "default"]).stdout
    assert out.startswith("unreachable default"), out
    # the Internet node, on pe1's global table, gets "unreachable" straight from pe1
    res = _run(["ip", "netns", "exec", _ns(figure1, "inet"), "ping", "-c1", "-W1", "10.1.1.2"])
    assert res.returncode == 1 and "Unreachable" in res.stdout, res   # exit 1: sent, answered unreachable


def test_bandwidth_is_shaped_with_htb(figure1):
    out = _run(["tc", "-n", _ns(figure1, "pe1"), "class", "show", "dev", "p1"]).stdout
    assert "htb 1:1" in out and "rate 1Gbit" in out, out


@pytest.mark.skipif(not FULL_KERNEL, reason="netem is missing from this kernel")
def test_netem_delay_is_measured(figure1):
    """pe3 -- pe4 declares 10 ms one way: ping RTT about 20 ms."""
    res = _run(["ip", "netns", "exec", _ns(figure1, "pe3"), "ping", "-c5", "-i0.2", "-n", "100.64.0.18"])
    rtt = float(re.search(r"= [\d.]+/([\d.]+)/", res.stdout).group(1))
    assert 18.0 <= rtt <= 40.0, res.stdout


def test_second_up_is_refused(figure1):
    with pytest.raises(StateError, match="already up"):
        pipeline.up(TOPO, degrade=True)


def test_cli_inspect_exec_and_check(figure1, cli):
    out = _run([cli, "inspect", "--json"])
    assert out.returncode == 0
    record = json.loads(out.stdout)
    assert record["status"] == "up" and record["testbed"] == "cloudnet"
    res = _run([cli, "exec", "acme-h1", "--", "ping", "-c1", "-W2", "10.1.2.2"])
    assert res.returncode == 0, res.stderr
    res = _run([cli, "exec", "nosuch", "--", "true"])
    assert res.returncode == 2 and "no node 'nosuch'" in res.stderr
    if FULL_KERNEL:     # the same verdicts as test_figure1_comes_up_and_isolates_tenants, minutes under TCG
        return
    res = _run([cli, "check", "--json"], timeout=300)
    assert res.returncode == 0, res.stdout[-2000:]
    verdicts = json.loads(res.stdout)
    assert verdicts and all(r["status"] == "pass" for r in verdicts)
    assert all(w["control"] >= 2 for r in verdicts if r["kind"] == "isolated" for w in r["watched"])


def test_inspect_counts_the_vms_the_cloud_manager_attached(figure1, cli):
    cloud, _ = pipeline.managers(figure1["testbed"])
    cloud.attach("bravo-vpc", site="dc1", name="insp1")
    try:
        text = _run([cli, "inspect"]).stdout
        row = next(line for line in text.splitlines() if "bravo-vpc" in line and "VM" not in line)
        assert "1 (insp1)" in row, text
        data = json.loads(_run([cli, "inspect", "--json"]).stdout)
        assert [vm["name"] for vm in data["vms"]] == ["insp1"]
    finally:
        cloud.detach("insp1")


@pytest.mark.skipif(FULL_KERNEL, reason="this kernel has VRF support")
def test_forcing_an_unbuildable_realization_builds_nothing(clean_machine, cli):
    res = _run([cli, "up", TOPO, "--detach", "--realize", "router=vrf", "--degrade"])
    assert res.returncode == 2
    assert "--realize router=vrf needs vrf" in res.stderr and "nothing was built" in res.stderr


@pytest.mark.skipif(FULL_KERNEL, reason="this kernel has netem")
def test_delay_without_netem_needs_degrade(clean_machine):
    with pytest.raises(UnsupportedError, match="needs sch_netem"):
        pipeline.up(TOPO)


def _capture(record, node, iface, direction, bpf, action, count=3):
    argv = ["ip", "netns", "exec", _ns(record, node), "tcpdump", "-l", "-nn", "-e", "-Q", direction, "-c", str(count),
            "-i", iface, "--immediate-mode", bpf]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    import time
    time.sleep(0.5)
    action()
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.mark.skipif(not FULL_KERNEL, reason="MPLS forwarding is missing from this kernel")
def test_mpls_label_stack_is_swapped_at_the_p_router(figure1):
    """acme-h1 (pe1) -> acme-h3 (pe2) crosses p1: [transport, VPN] on both links, transport swapped at p1."""
    info = figure1["info"]
    vpn = info["vpn"]["acme"]["vpn_labels"]["pe2"]
    into_p1, out_of_p1 = info["lsp"]["p1->pe2"], info["lsp"]["pe2->pe2"]
    assert into_p1 != out_of_p1

    def ping():
        subprocess.run(["ip", "netns", "exec", _ns(figure1, "acme-h1"), "ping", "-c3", "-i0.2", "10.1.2.2"],
                       capture_output=True)
    before = _capture(figure1, "p1", "pe1", "in", "mpls", ping)
    after = _capture(figure1, "p1", "pe2", "out", "mpls", ping)
    print("\ncaptured on pe1 -> p1:", before.splitlines()[0] if before else "", "\ncaptured on p1 -> pe2:",
          after.splitlines()[0] if after else "")
    assert f"(label {into_p1}, " in before and f"(label {vpn}, " in before and "[S]" in before
    assert f"(label {out_of_p1}, " in after and f"(label {vpn}, " in after
    # the VPN label is the bottom of the stack, under the transport label
    first = before.splitlines()[0]
    assert first.index(f"label {into_p1},") < first.index(f"label {vpn},")
