"""`cloudnet-emu graph`'s drawing (graphviz text), without graphviz: the provider's control plane."""
from __future__ import annotations

import re

import yaml

from cloudnet_emu.graph import to_dot
from cloudnet_emu.spec.load import load_topology


def _dot(tmp_path, **provider) -> str:
    with open("topologies/cloudnet.yaml") as f:
        data = yaml.safe_load(f)
    data["provider"].update(provider)
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return to_dot(load_topology(str(path)))


def _sessions(dot: str) -> set[frozenset]:
    return {frozenset(m) for m in re.findall(r'"(\w+)" -- "(\w+)" \[style=dotted, color="#1f5fbf"', dot)}


def test_static_core_draws_no_sessions(tmp_path):
    dot = _dot(tmp_path)
    assert "iBGP" not in dot and " RR" not in dot


def test_bgp_marks_the_reflector_and_every_session_to_it(tmp_path):
    dot = _dot(tmp_path, control="bgp")
    assert 'label="p1 RR"' in dot and 'label="pe1 RR"' not in dot
    assert _sessions(dot) == {frozenset(("p1", pe)) for pe in ("pe1", "pe2", "pe3", "pe4")}


def test_a_reflecting_pe_has_one_session_to_the_other_reflector(tmp_path):
    dot = _dot(tmp_path, control="bgp", reflectors=["pe1", "p1"])
    assert 'label="p1 RR"' in dot and 'label="pe1 RR"' in dot
    assert _sessions(dot) == {frozenset(p) for p in [("pe1", "p1"), ("pe2", "p1"), ("pe3", "p1"), ("pe4", "p1"),
                                                      ("pe2", "pe1"), ("pe3", "pe1"), ("pe4", "pe1")]}


def test_without_reflectors_every_pe_pair_has_a_session_and_nothing_is_marked(tmp_path):
    dot = _dot(tmp_path, control="bgp", reflectors=[])
    assert " RR" not in dot
    pes = ("pe1", "pe2", "pe3", "pe4")
    assert _sessions(dot) == {frozenset((a, b)) for i, a in enumerate(pes) for b in pes[i + 1:]}


def test_the_control_plane_built_here_decides_what_is_drawn(tmp_path):
    """bgp by default where FRR runs: the topology need not say so for the sessions to be drawn."""
    t = load_topology("topologies/cloudnet.yaml")
    assert t.provider.control is None
    assert " RR" in to_dot(t, "bgp") and _sessions(to_dot(t, "bgp"))
    assert "iBGP" not in to_dot(t, "static")


def test_a_site_routing_by_ebgp_has_its_as_on_the_access_edge(tmp_path):
    with open("topologies/cloudnet.yaml") as f:
        data = yaml.safe_load(f)
    data["provider"]["control"] = "bgp"
    data["tenants"][1]["sites"][0]["routing"] = "bgp"
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    dot = to_dot(load_topology(str(path)))
    assert re.search(r'"bravo-hq" -- "pe1" \[[^]]*label="VRF bravo, eBGP AS 65003"', dot), dot
    assert re.search(r'"bravo-br" -- "pe2" \[[^]]*label="VRF bravo"\]', dot)
