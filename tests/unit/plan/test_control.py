"""The control construct without root: static vs bgp plans, reflectors, rendered FRR files.

The rendered frr.conf of every Figure 1 router is a golden file (tests/unit/plan/golden/);
CLOUDNET_REGEN_GOLDEN=1 rewrites them (read the diff before committing it).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cloudnet_emu.errors import SpecError, UnsupportedError
from cloudnet_emu.plan.actions import FdbAppend, FrrRouter, MplsRoute, Route, Vrf, Vxlan
from cloudnet_emu.plan.build import build_plan
from cloudnet_emu.plan.choose import choose, parse_forced
from cloudnet_emu.plan.frr import DAEMONS, LDP_DAEMONS, VRF_DAEMONS, frr_conf
from cloudnet_emu.probe import Feature
from cloudnet_emu.spec.load import load_topology

GOLDEN = Path(__file__).parent / "golden"
NAMES = ["root", "ovs", "vrf", "vxlan", "bridge", "netem", "htb", "mpls", "mpls_iptunnel", "ovs_kernel_datapath", "frr"]


def features(*missing):
    return {n: Feature(n not in missing, f"{n} missing here" if n in missing else "test") for n in NAMES}


@pytest.fixture(scope="module")
def topo():
    return load_topology("topologies/cloudnet.yaml")


def plan_of(topo, realize=None, feats=None):
    return build_plan(topo, choose(topo, feats or features(), parse_forced(realize)))


def variant(tmp_path, **provider):
    with open("topologies/cloudnet.yaml") as f:
        data = yaml.safe_load(f)
    data["provider"].update(provider)
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_topology(str(path))


def test_bgp_is_the_default_where_frr_runs_over_the_vxlan_core(topo):
    c = choose(topo, features("mpls"))
    assert c.realizations["core"] == "vxlan" and c.realizations["control"] == "bgp"
    assert "FRR in every provider router" in c.reasons["control"]


def test_static_stays_the_default_over_the_mpls_core_and_without_frr(topo):
    c = choose(topo, features())
    assert c.realizations["core"] == "mpls" and c.realizations["control"] == "static"
    assert "no routing daemon" in c.reasons["control"]
    assert choose(topo, features("mpls", "frr")).realizations["control"] == "static"
    assert choose(topo, features("mpls"), parse_forced("control=static")).realizations["control"] == "static"


def test_static_writes_core_routes_and_starts_no_daemon(topo):
    p = plan_of(topo)
    loopback_routes = [a for a in p.of(Route) if a.dst.startswith("100.127.255.")]
    assert len(loopback_routes) == 5 * 4            # every router to every other router's loopback
    assert p.of(FrrRouter) == [] and p.info["control"] == {"realization": "static"}


def test_bgp_replaces_every_provider_route_by_daemons(topo):
    static, bgp = plan_of(topo, "control=static,core=vxlan"), plan_of(topo, "control=bgp,core=vxlan")
    routers = {r.name for r in topo.provider.routers}
    provider_routes = [a for a in bgp.of(Route) if a.node in routers and a.table is None]
    assert provider_routes == []                    # loopbacks and cloud WAN subnets: the IGP's now
    assert {a.node for a in bgp.of(FrrRouter)} == routers
    assert all([d for d, _ in a.configs] == list(DAEMONS) for a in bgp.of(FrrRouter))
    # everything else (sites, VPNs, clouds) is the same plan
    rest = [a for a in static.actions if not (isinstance(a, Route) and a.node in routers and a.table is None)]
    assert rest == [a for a in bgp.actions if not isinstance(a, FrrRouter)]
    info = bgp.info["control"]
    assert info["reflectors"] == ["p1"]
    assert info["sessions"]["p1"] == ["100.127.255.1", "100.127.255.2", "100.127.255.3", "100.127.255.4"]
    assert info["sessions"]["pe3"] == ["100.127.255.5"]
    # what `up` waits for in pe1's FIB: the other four loopbacks and both cloud WAN subnets
    assert info["routes"]["pe1"] == ["100.127.255.2/32", "100.127.255.3/32", "100.127.255.4/32", "100.127.255.5/32",
                                     "100.65.0.16/30", "100.65.0.20/30"]
    assert "100.65.0.16/30" not in info["routes"]["pe3"]      # dc1's WAN is pe3's own
    # and what every BGP speaker must have learned before `up` returns: the other PEs' loopbacks
    assert info["bgp_routes"]["pe1"] == ["100.127.255.2/32", "100.127.255.3/32", "100.127.255.4/32"]
    assert len(info["bgp_routes"]["p1"]) == 4


@pytest.mark.parametrize("router,realize,golden", [(r, "control=bgp,core=vxlan", f"frr-{r}") for r in
                                                   ("pe1", "pe2", "pe3", "pe4", "p1")]
                         + [(r, "control=bgp", f"frr-vpnv4-{r}") for r in ("pe1", "pe3", "p1")])
def test_rendered_frr_conf_of_figure1_matches_golden(topo, router, realize, golden):
    """Each router's files on the VXLAN core, and on the MPLS core (VPNv4 with LDP: frr-vpnv4-*)."""
    configs = dict(next(a for a in plan_of(topo, realize).of(FrrRouter) if a.node == router).configs)
    text = frr_conf(configs)
    path = GOLDEN / f"{golden}.conf"
    if os.environ.get("CLOUDNET_REGEN_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_forcing_bgp_where_frr_cannot_run_is_refused_before_anything(topo, tmp_path):
    with pytest.raises(UnsupportedError) as exc:
        choose(topo, features("frr"), parse_forced("control=bgp"))
    assert exc.value.missing == ["--realize control=bgp needs frr (frr missing here)"]
    with pytest.raises(UnsupportedError) as exc:
        choose(variant(tmp_path, control="bgp"), features("frr"))
    assert exc.value.missing == ["provider.control: bgp needs frr (frr missing here)"]


def test_topology_field_selects_and_realize_overrides(tmp_path):
    t = variant(tmp_path, control="bgp")
    c = choose(t, features())
    assert c.realizations["control"] == "bgp" and c.reasons["control"].startswith("forced by the topology")
    assert choose(t, features("frr"), parse_forced("control=static")).realizations["control"] == "static"


def test_named_reflectors_get_clients_and_peer_with_each_other(tmp_path):
    p = plan_of(variant(tmp_path, reflectors=["p1", "pe3"]), "control=bgp")
    s = p.info["control"]["sessions"]
    assert s["pe1"] == ["100.127.255.3", "100.127.255.5"]           # both reflectors
    assert s["pe3"] == ["100.127.255.1", "100.127.255.2", "100.127.255.4", "100.127.255.5"]
    bgpd = dict(next(a for a in p.of(FrrRouter) if a.node == "p1").configs)["bgpd"]
    assert "neighbor 100.127.255.3 route-reflector-client" in bgpd    # pe3 is a PE: p1 reflects to it too


def test_without_reflectors_the_pes_peer_in_a_full_mesh_and_p_routers_run_ospf_only(tmp_path):
    p = plan_of(variant(tmp_path, reflectors=[]), "control=bgp")
    los = {f"pe{i}": f"100.127.255.{i}" for i in range(1, 5)}
    assert p.info["control"]["reflectors"] == []
    assert p.info["control"]["sessions"]["p1"] == []
    for pe, lo in los.items():
        assert p.info["control"]["sessions"][pe] == sorted(set(los.values()) - {lo})
    configs = {a.node: dict(a.configs) for a in p.of(FrrRouter)}
    assert " neighbor " not in configs["p1"]["bgpd"] and "router ospf" in configs["p1"]["ospfd"]
    assert "route-reflector-client" not in configs["pe1"]["bgpd"]


def test_without_p_routers_the_first_pe_reflects(tmp_path):
    data = {"name": "two", "provider": {"routers": [{"name": "pe1", "role": "pe"}, {"name": "pe2", "role": "pe"}],
                                        "links": [{"endpoints": ["pe1", "pe2"]}]}}
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(data))
    p = plan_of(load_topology(str(path)), "control=bgp")
    assert p.info["control"]["reflectors"] == ["pe1"]
    assert p.info["control"]["sessions"] == {"pe1": ["100.127.255.2"], "pe2": ["100.127.255.1"]}


@pytest.mark.skipif(not shutil.which("vtysh"), reason="vtysh (FRR) is not installed: ./setup.sh installs it")
@pytest.mark.parametrize("router,vpnv4", [("pe1", False), ("p1", False), ("pe1.acme", False), ("pe1", True),
                                          ("p1", True)])
def test_frr_itself_accepts_the_rendered_files(topo, router, vpnv4, tmp_path):
    """vtysh's dry run (-C) parses with every daemon's command set: no daemon, no root."""
    plan = plan_of(topo, "control=bgp", features() if vpnv4 else features("vrf", "mpls", "mpls_iptunnel"))
    configs = dict(next(a for a in plan.of(FrrRouter) if a.node == router).configs)
    for daemon, text in configs.items():
        path = tmp_path / f"{daemon}.conf"
        path.write_text(text)
        res = subprocess.run(["vtysh", "-C", "-f", str(path)], capture_output=True, text=True, timeout=10)
        assert res.returncode == 0, f"{daemon}: {res.stdout}{res.stderr}"


def test_a_construct_nothing_can_build_is_one_unsupported_problem(topo):
    """No VXLAN and no MPLS: the core has no realization; that is a problem naming what is missing,
    not a StopIteration out of the chooser."""
    with pytest.raises(UnsupportedError) as e:
        choose(topo, features("vxlan", "mpls", "mpls_iptunnel"))
    assert e.value.missing == ["core: no realization can be built here; vxlan needs vxlan (vxlan missing here)"]


def test_under_bgp_with_vrf_namespaces_the_l3vpns_ride_on_each_vrfs_own_bgp(topo):
    """This kernel (no VRF devices, no MPLS): each tenant's transit is an EVPN L2 VNI in the PEs, and
    each VRF namespace runs zebra and bgpd; no planner route to a remote prefix, no flood entry."""
    p = plan_of(topo, "control=bgp", features("vrf", "mpls", "mpls_iptunnel"))
    assert (p.realizations["router"], p.realizations["core"]) == ("netns", "vxlan")
    vrfs = ["pe1.acme", "pe1.bravo", "pe2.acme", "pe2.bravo"]
    assert sorted(a.node for a in p.of(FrrRouter) if "." in a.node) == vrfs
    assert [a for a in p.of(Vxlan) if a.peers or a.learning] == [] and p.of(FdbAppend) == []
    assert [r for r in p.of(Route) if r.node in vrfs and r.via and r.via.startswith("100.66.")] == []
    info = p.info["control"]
    assert info["vrfs"] == vrfs and info["vrf_daemons"] == ["zebra", "bgpd"]
    assert info["routes"]["pe1.acme"] == ["10.1.2.0/24"] and info["sessions"]["pe1.acme"] == ["100.66.0.2"]


@pytest.mark.parametrize("vrf", ["pe1.acme", "pe2.bravo"])
def test_rendered_frr_conf_of_a_figure1_vrf_matches_golden(topo, vrf):
    assert_golden_instance(plan_of(topo, "control=bgp", features("vrf", "mpls", "mpls_iptunnel")), vrf, f"frr-{vrf}.conf")


def assert_golden_instance(plan, node: str, golden: str) -> None:
    """The zebra and bgpd files of NODE's own FRR (a VRF's or an eBGP CE's), as golden file GOLDEN."""
    configs = dict(next(a for a in plan.of(FrrRouter) if a.node == node).configs)
    text = "".join(f"! ---- {d}.conf\n{configs[d]}" for d in VRF_DAEMONS)
    path = GOLDEN / golden
    if os.environ.get("CLOUDNET_REGEN_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


# --- MP-BGP VPNv4 with LDP: control=bgp on the MPLS core (the full kernel's choice) ---------------------

def test_under_bgp_on_mpls_the_planner_writes_no_label(topo):
    """Kernel VRFs on the MPLS core: LDP hands out the transport labels and bgpd the VPN labels, so the
    plan has no label route, no labelled route and no LSP; the VPNs name their route distinguishers."""
    static, p = plan_of(topo, "control=static"), plan_of(topo, "control=bgp")
    assert (p.realizations["router"], p.realizations["core"]) == ("vrf", "mpls")
    assert static.of(MplsRoute) and static.info.get("lsp")          # what static writes ...
    assert p.of(MplsRoute) == [] and [r for r in p.of(Route) if r.labels] == [] and "lsp" not in p.info
    assert p.info["vpn"]["bravo"] == {"core": "mpls", "vpnv4": {"pe1": "100.127.255.1:2", "pe2": "100.127.255.2:2"}}
    assert {a.node for a in p.of(Vrf)} == {"pe1", "pe2"}                # the VRFs are still the planner's
    assert all([d for d, _ in a.configs] == list(LDP_DAEMONS) for a in p.of(FrrRouter))
    info = p.info["control"]
    assert info["daemons"] == list(LDP_DAEMONS)
    # what `up` waits for besides sessions and loopbacks: each VRF's remote prefixes with a label stack
    assert info["vrf_tables"] == {"pe1": {"vrf-acme": ["10.1.2.0/24"], "vrf-bravo": ["10.1.2.0/24"]},
                                  "pe2": {"vrf-acme": ["10.1.1.0/24"], "vrf-bravo": ["10.1.1.0/24"]}}


def test_under_bgp_on_mpls_every_pe_has_every_tenants_instance(topo):
    """pe3 has no VRF at up (its VRFs come with the first VM): its bgpd has their instances already,
    so the Network Manager configures nothing at another PE; p1 reflects ipv4 vpn and runs LDP."""
    p = plan_of(topo, "control=bgp")
    conf = {a.node: dict(a.configs) for a in p.of(FrrRouter)}
    for pe in ("pe1", "pe2", "pe3", "pe4"):
        n = int(pe[2])
        assert "router bgp 65000 vrf vrf-acme" in conf[pe]["bgpd"] and f"rd vpn export 100.127.255.{n}:1" \
            in conf[pe]["bgpd"]
        assert "router bgp 65000 vrf vrf-bravo" in conf[pe]["bgpd"] and "rt vpn both 65000:2" in conf[pe]["bgpd"]
    assert "vrf" not in conf["p1"]["bgpd"] and "address-family ipv4 vpn" in conf["p1"]["bgpd"]
    assert "neighbor 100.127.255.3 route-reflector-client" in conf["p1"]["bgpd"].split("ipv4 vpn")[1]
    assert "  interface pe1\n" in conf["p1"]["ldpd"] and "discovery transport-address 100.127.255.5" in conf["p1"]["ldpd"]


def test_bgp_on_mpls_with_vrf_namespaces_is_refused_before_anything(topo):
    """VPNv4 needs kernel VRF devices: forced or chosen, the combination is a SpecError with a hint."""
    with pytest.raises(SpecError) as exc:
        choose(topo, features(), parse_forced("control=bgp,router=netns"))
    (problem,) = exc.value.problems
    assert problem.message.startswith("control=bgp (forced by --realize) and core=mpls (the best this kernel has) "
                                      "and router=netns (forced by --realize)")
    assert "core=vxlan" in problem.hint
    with pytest.raises(SpecError):
        choose(topo, features("vrf"), parse_forced("control=bgp"))        # no VRF devices: netns is chosen
    assert choose(topo, features("vrf"), parse_forced("control=bgp,core=vxlan")).realizations["core"] == "vxlan"


# --- CE-PE eBGP: a site with `routing: bgp` -------------------------------------------------------------

def ebgp_variant(tmp_path, tenant="bravo", only_first=False):
    with open("topologies/cloudnet.yaml") as f:
        data = yaml.safe_load(f)
    for t in data["tenants"]:
        if t["name"] == tenant:
            for site in t["sites"][:1] if only_first else t["sites"]:
                site["routing"] = "bgp"
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_topology(str(path))


NATIVE = ("vrf", "mpls", "mpls_iptunnel")      # this kernel: VRFs as namespaces, the VXLAN core


def test_a_ce_routing_by_bgp_runs_frr_and_no_static_route_is_written_for_its_site(tmp_path):
    p = plan_of(ebgp_variant(tmp_path), "control=bgp", features(*NATIVE))
    assert sorted(a.node for a in p.of(FrrRouter) if "-" in a.node and "." not in a.node) == ["bravo-br", "bravo-hq"]
    # neither the CE's default nor the VRF's route to the site: BGP carries both ways
    assert [r for r in p.of(Route) if r.node in ("bravo-hq", "bravo-br")] == []
    assert [r for r in p.of(Route) if r.node == "pe1.bravo" and r.dst == "10.1.1.0/24"] == []
    # acme, static, keeps both
    assert [r.dst for r in p.of(Route) if r.node == "acme-hq"] == ["0.0.0.0/0"]
    assert [r.dst for r in p.of(Route) if r.node == "pe1.acme" and r.via] == ["10.1.1.0/24"]
    info = p.info["control"]
    assert info["sessions"]["bravo-hq"] == ["100.65.0.9"] and info["routes"]["bravo-hq"] == ["10.1.2.0/24"]
    assert info["sessions"]["pe1.bravo"] == ["100.65.0.10", "100.66.1.2"]
    assert info["routes"]["pe1.bravo"] == ["10.1.2.0/24", "10.1.1.0/24"]
    assert {"bravo-hq", "bravo-br"} <= set(info["vrfs"])
    assert (p.info["sites"]["bravo-hq"]["routing"], p.info["sites"]["bravo-hq"]["asn"]) == ("bgp", 65003)
    assert p.info["sites"]["acme-hq"]["routing"] == "static"


def test_a_lone_site_routing_by_bgp_gets_its_vrf_instance_at_up(tmp_path):
    """A tenant whose only site routes by eBGP: its VRF runs its own BGP from `up` (no other member)."""
    with open("topologies/cloudnet.yaml") as f:
        data = yaml.safe_load(f)
    data["tenants"][1]["sites"] = data["tenants"][1]["sites"][:1]
    data["tenants"][1]["sites"][0]["routing"] = "bgp"
    for vpc in data["vpcs"]:
        vpc["sites"] = [s for s in vpc.get("sites", []) if s != "bravo-br"]
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    p = plan_of(load_topology(str(path)), "control=bgp", features(*NATIVE))
    assert "pe1.bravo" in {a.node for a in p.of(FrrRouter)}
    assert p.info["control"]["sessions"]["pe1.bravo"] == ["100.65.0.10"]
    assert p.info["control"]["routes"]["bravo-hq"] == []


@pytest.mark.parametrize("node", ["bravo-hq", "pe1.bravo"])
def test_rendered_frr_conf_of_an_ebgp_ce_and_its_vrf_matches_golden(tmp_path, node):
    assert_golden_instance(plan_of(ebgp_variant(tmp_path), "control=bgp", features(*NATIVE)), node, f"frr-ebgp-{node}.conf")


@pytest.mark.skipif(not shutil.which("vtysh"), reason="vtysh (FRR) is not installed: ./setup.sh installs it")
@pytest.mark.parametrize("node", ["bravo-hq", "pe1.bravo"])
def test_frr_itself_accepts_an_ebgp_ce_and_its_vrf(tmp_path, node):
    p = plan_of(ebgp_variant(tmp_path), "control=bgp", features(*NATIVE))
    for daemon, text in dict(next(a for a in p.of(FrrRouter) if a.node == node).configs).items():
        path = tmp_path / f"{daemon}.conf"
        path.write_text(text)
        res = subprocess.run(["vtysh", "-C", "-f", str(path)], capture_output=True, text=True, timeout=10)
        assert res.returncode == 0, f"{daemon}: {res.stdout}{res.stderr}"


@pytest.mark.parametrize("realize,feats,here", [
    ("control=static", (), "control=static, router=vrf"),
    (None, ("frr",), "control=static, router=netns"),
    ("control=bgp", (), "control=bgp, router=vrf"),
])
def test_routing_bgp_where_the_vrf_runs_no_bgp_of_its_own_is_refused_before_anything(tmp_path, realize, feats, here):
    topo = ebgp_variant(tmp_path, only_first=True)
    if feats == ("frr",):
        feats = ("frr", *NATIVE)
    with pytest.raises(SpecError) as e:
        choose(topo, features(*feats), parse_forced(realize))
    [problem] = e.value.problems
    assert problem.message == f"site bravo-hq: routing: bgp needs control=bgp with VRFs as namespaces, and here {here}"
    assert problem.path == ("tenants", 1, "sites", 0, "routing") and "--realize control=bgp,router=netns" in problem.hint
    # at the value in the file the topology was read from
    line = next(i for i, text in enumerate((tmp_path / "t.yaml").read_text().splitlines(), 1) if "routing: bgp" in text)
    assert (problem.file, problem.line) == (str(tmp_path / "t.yaml"), line)
    if realize is None:
        text = problem.format().replace(str(tmp_path), "<tmp>")
        path = GOLDEN / "ebgp-refused.txt"
        if os.environ.get("CLOUDNET_REGEN_GOLDEN"):
            path.write_text(text + "\n")
        assert text + "\n" == path.read_text()
