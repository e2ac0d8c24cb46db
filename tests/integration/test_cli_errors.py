"""Bad arguments against a running testbed: one line `error: ...`, exit 2, nothing changed.

Names are checked against the running Figure 1 testbed (cli/args.py) before a manager
acts: an unknown VM, VPC, cloud site, server or node is refused with the names that
exist.  After every refusal the testbed's VMs, namespaces and OVS ports are what they
were (a typo never half-builds anything).
"""
from __future__ import annotations

import json
import subprocess

import pytest

from cloudnet_emu import naming
from cloudnet_emu.kernel import ns, ovs


def _run(cli, *argv):
    return subprocess.run([cli, *argv], capture_output=True, text=True, timeout=120)


def _snapshot(testbed: str):
    spaces = sorted(n for n in ns.listing() if naming.is_ours_netns(n, testbed))
    ports = sorted(p for br in ovs.owned_bridges(testbed) for p in ovs.ports(br))
    return spaces, ports


NODES = ("acme-br, acme-h1, acme-h2, acme-h3, acme-hq, bravo-br, bravo-h1, bravo-h2, bravo-h3, bravo-h4, bravo-hq, "
         "dc1, dc2, inet, p1, pe1, pe1.acme, pe1.bravo, pe2, pe2.acme, pe2.bravo, pe3, pe4")

CASES = [
    (["vm", "detach", "b9"], "error: no VM 'b9' in testbed 'cloudnet'; name one of: none (`cloudnet-emu vm list`)"),
    (["vm", "migrate", "b9", "--to", "dc2"],
     "error: no VM 'b9' in testbed 'cloudnet'; name one of: none (`cloudnet-emu vm list`)"),
    (["vm", "attach", "charlie-vpc"],
     "error: no VPC 'charlie-vpc' in testbed 'cloudnet'; name one of: acme-vpc, bravo-vpc (`cloudnet-emu vpc list`)"),
    (["vm", "attach", "bravo-vpc", "--site", "dc3"],
     "error: no cloud site 'dc3' in testbed 'cloudnet'; name one of: dc1, dc2"),
    (["vm", "attach", "bravo-vpc", "--site", "bravo-hq"],
     "error: no cloud site 'bravo-hq' in testbed 'cloudnet'; name one of: dc1, dc2"),
    (["vm", "attach", "bravo-vpc", "--site", "dc1", "--server", "dc2-s1"],
     "error: server 'dc2-s1' is in cloud site 'dc2', not 'dc1'; servers of dc1: dc1-s1, dc1-s2"),
    (["vm", "attach", "bravo-vpc", "--server", "dc9-s1"],
     "error: no server 'dc9-s1' in testbed 'cloudnet'; name one of: dc1-s1, dc1-s2, dc2-s1"),
    (["vpc", "delete", "charlie-vpc"],
     "error: no VPC 'charlie-vpc' in testbed 'cloudnet'; name one of: acme-vpc, bravo-vpc (`cloudnet-emu vpc list`)"),
    (["exec", "pe9", "--", "true"], f"error: no node 'pe9' in testbed 'cloudnet'; name one of: {NODES}"),
    (["capture", "pe9:p1", "-c", "1"], f"error: no node 'pe9' in testbed 'cloudnet'; name one of: {NODES} "
                                       "(or root:PORT for a port in the root namespace)"),
]


@pytest.mark.parametrize("argv, line", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_unknown_names_in_a_running_testbed(figure1, cli, argv, line):
    tb = figure1["testbed"]
    before = _snapshot(tb)
    words = 2 if argv[0] in ("vm", "vpc") else 1           # --testbed right after the (sub)command
    result = _run(cli, *argv[:words], "--testbed", tb, *argv[words:])
    assert (result.returncode, result.stderr) == (2, line + "\n"), result.stderr
    assert result.stdout == ""
    assert _snapshot(tb) == before


def test_migrate_to_unknown_site_or_foreign_server(figure1, cli):
    tb = figure1["testbed"]
    attached = _run(cli, "vm", "attach", "acme-vpc", "--site", "dc1", "--server", "dc1-s1", "--name", "e1",
                    "--testbed", tb)
    assert attached.returncode == 0, attached.stderr
    try:
        before = _snapshot(tb)
        for to, line in (("dc3", "error: no cloud site 'dc3' in testbed 'cloudnet'; name one of: dc1, dc2"),
                         ("dc2/dc1-s2", "error: server 'dc1-s2' is in cloud site 'dc1', not 'dc2'; servers of dc2: "
                                        "dc2-s1")):
            result = _run(cli, "vm", "migrate", "e1", "--to", to, "--testbed", tb)
            assert (result.returncode, result.stderr) == (2, line + "\n")
        # Refused by the Cloud Manager (not a typo): its own one-line error, nothing moved.
        result = _run(cli, "vm", "migrate", "e1", "--to", "dc1/dc1-s1", "--testbed", tb)
        assert (result.returncode, result.stderr) == (
            1, "error: e1 is already in dc1 on dc1-s1: name another site or server\n")
        assert _snapshot(tb) == before
    finally:
        assert _run(cli, "vm", "detach", "e1", "--testbed", tb).returncode == 0


def test_vpc_create_refuses_a_pinned_vlan_twice(figure1, cli):
    tb = figure1["testbed"]
    made = _run(cli, "vpc", "create", "acme-db", "--testbed", tb, "--tenant", "acme", "--type", "l3vpn",
                "--subnet", "10.1.200.0/24", "--vlan", "300")
    assert made.returncode == 0, made.stderr
    try:
        again = _run(cli, "vpc", "create", "acme-db2", "--testbed", tb, "--tenant", "acme", "--type", "l3vpn",
                     "--subnet", "10.1.201.0/24", "--vlan", "300")
        assert (again.returncode, again.stderr) == (
            2, "vpc create: VLAN 300 is already pinned by VPC 'acme-db'\n"
               "    hint: each VPC needs its own VLAN in a cloud site; leave --vlan out to get one\n"
               "1 problem(s); nothing was built.\n")
        listed = _run(cli, "vpc", "list", "--testbed", tb, "--json").stdout
        assert "acme-db2" not in listed and "acme-db" in listed
    finally:
        assert _run(cli, "vpc", "delete", "acme-db", "--testbed", tb).returncode == 0


def test_capture_listens_on_every_port_the_testbed_owns(figure1, cli):
    """root:PORT (what scenario checks capture on), a VM's port alone, a VM's own interface: each
    records a real packet; a root device that is not the testbed's is one line naming what is."""
    tb = figure1["testbed"]
    bad = _run(cli, "capture", "--testbed", tb, "root:lo", "-c", "1")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    assert bad.stderr.startswith("error: 'root:lo' is neither a node") and "cnt-dc1-s1" in bad.stderr
    attached = _run(cli, "vm", "attach", "bravo-vpc", "--site", "dc1", "--server", "dc1-s1", "--name", "c1",
                    "--testbed", tb, "--json")
    assert attached.returncode == 0, attached.stderr
    vm = json.loads(attached.stdout)
    try:
        for where in ("root:cnt-dc1-s1", "cnv-c1", "c1:eth0"):
            dump = subprocess.Popen([cli, "capture", "--testbed", tb, where, "-c", "1"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                said = [dump.stderr.readline() for _ in range(2)]      # "verbose output suppressed", "listening on"
                assert "listening on" in said[-1], said
                ns.run(["ping", "-c", "5", "-i", "0.2", vm["gateway"]], netns=naming.netns(tb, "c1"), check=False)
                _, err = dump.communicate(timeout=30)
            finally:
                if dump.poll() is None:
                    dump.kill()
                    dump.wait()
            assert dump.returncode == 0 and "1 packet captured" in err, (where, err)
    finally:
        assert _run(cli, "vm", "detach", "c1", "--testbed", tb).returncode == 0
