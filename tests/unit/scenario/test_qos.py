"""The throughput check's contention evidence: the shaped link two flows share, on Figure 1's plan."""
from types import SimpleNamespace

from cloudnet_emu.plan.build import build_plan
from cloudnet_emu.plan.choose import choose
from cloudnet_emu.plan.reserve import End
from cloudnet_emu.probe import Feature
from cloudnet_emu.scenario.qos import shared_capacity
from cloudnet_emu.spec.load import load_topology

FEATURES = ["root", "ovs", "vxlan", "bridge", "htb", "tbf", "netem"]


def _world():
    topo = load_topology("topologies/cloudnet.yaml")
    return SimpleNamespace(world=build_plan(topo, choose(topo, {f: Feature(True, "test") for f in FEATURES})).world)


def test_two_flows_into_one_site_share_its_access_link():
    w = _world()
    hq = w.world.sites["bravo-hq"]
    into_hq = [(End("proc", "10.1.100.2/32", "pe4"), End("bravo-h1", hq.subnet, hq.pe, "bravo-hq")),
               (End("bulk", "10.1.100.3/32", "pe4"), End("bravo-h2", hq.subnet, hq.pe, "bravo-hq"))]
    assert hq.bw == 100 and shared_capacity(w, into_hq) == 100      # the 100 Mbit/s access link, not the core


def test_flows_between_different_sites_behind_different_pes_share_nothing_shaped():
    w = _world()
    a, b = w.world.sites["acme-hq"], w.world.sites["bravo-hq"]
    flows = [(End("x", a.subnet, a.pe, "acme-hq"), End("y", "10.9.0.1/32", a.pe)),
             (End("z", b.subnet, b.pe, "bravo-hq"), End("v", "10.9.0.2/32", b.pe))]
    assert shared_capacity(w, flows) is None
