"""The Cloud and Network Managers on paper: Figure 1's plan, the managers' ledgers in a temporary
directory, every action recorded by the paper executor instead of applied (no root)."""
from __future__ import annotations

import copy

import pytest

from cloudnet_emu.managers import ledger, open_managers
from cloudnet_emu.managers.paper import Paper
from cloudnet_emu.plan.build import build_plan
from cloudnet_emu.plan.choose import choose, parse_forced
from cloudnet_emu.probe import Feature
from cloudnet_emu.spec.load import load_topology

ALL = ["root", "ovs", "vrf", "vxlan", "bridge", "vlan_filtering", "8021q", "mpls", "mpls_iptunnel", "htb", "tbf",
       "netem", "ovs_kernel_datapath"]


@pytest.fixture(scope="session")
def figure1_record() -> dict:
    topo = load_topology("topologies/cloudnet.yaml")
    plan = build_plan(topo, choose(topo, {name: Feature(True, "test") for name in ALL}))
    return {"testbed": plan.testbed, "realizations": plan.realizations, "info": plan.info,
            "nodes": [{"name": n.name, "kind": n.kind, "site": n.site, "tenant": n.tenant} for n in plan.nodes]}


class OnPaper:
    def __init__(self, record: dict):
        self.record = record
        self.paper = Paper()
        self.cloud, self.network = open_managers("papertb", record, self.paper)
        for name, vpc in record["info"]["vpcs"].items():      # as `up` does: VPLS VPCs come with their enterprise side
            if vpc["type"] == "vpls":
                self.network.provision({"vpc": name})
        self.paper.clear()

    def reopen(self):
        """The managers as the next CLI call sees them: read back from their ledgers."""
        self.cloud, self.network = open_managers("papertb", self.record, self.paper)


@pytest.fixture
def world(figure1_record, tmp_path, monkeypatch) -> OnPaper:
    monkeypatch.setattr(ledger, "STATE_ROOT", str(tmp_path))
    return OnPaper(copy.deepcopy(figure1_record))


@pytest.fixture
def bgp_world(figure1_record, tmp_path, monkeypatch) -> OnPaper:
    """Figure 1 on paper under control=bgp: the PEs' own FRR carries the VPLS instances (EVPN)."""
    monkeypatch.setattr(ledger, "STATE_ROOT", str(tmp_path))
    record = copy.deepcopy(figure1_record)
    record["realizations"]["control"] = "bgp"
    return OnPaper(record)


@pytest.fixture(scope="session")
def figure1_bgp_record() -> dict:
    """Figure 1 planned for this kernel under control=bgp: VRFs as namespaces, a VXLAN core."""
    return _bgp_record(lambda name: name not in ("vrf", "mpls", "mpls_iptunnel"))


def _bgp_record(have) -> dict:
    """Figure 1 planned under control=bgp with the features `have(name)` says the kernel has."""
    topo = load_topology("topologies/cloudnet.yaml")
    plan = build_plan(topo, choose(topo, {name: Feature(have(name), "test") for name in ALL + ["frr"]},
                                   parse_forced("control=bgp")))
    return {"testbed": plan.testbed, "realizations": plan.realizations, "info": plan.info,
            "nodes": [{"name": n.name, "kind": n.kind, "site": n.site, "tenant": n.tenant} for n in plan.nodes]}


@pytest.fixture
def bgp_netns_world(figure1_bgp_record, tmp_path, monkeypatch) -> OnPaper:
    monkeypatch.setattr(ledger, "STATE_ROOT", str(tmp_path))
    return OnPaper(copy.deepcopy(figure1_bgp_record))


@pytest.fixture(scope="session")
def figure1_vpnv4_record() -> dict:
    """Figure 1 planned for the full kernel under control=bgp: kernel VRFs, MPLS core, VPNv4 with LDP."""
    return _bgp_record(lambda name: True)


@pytest.fixture
def vpnv4_world(figure1_vpnv4_record, tmp_path, monkeypatch) -> OnPaper:
    monkeypatch.setattr(ledger, "STATE_ROOT", str(tmp_path))
    return OnPaper(copy.deepcopy(figure1_vpnv4_record))
