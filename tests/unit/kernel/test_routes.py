"""`ip -j route` with label stacks (kernel/routes.py), against output captured in the VM tier:
pe1 of Figure 1 under control=bgp on the MPLS core (iproute2 6.1, FRR 8.4: OSPF routes with LDP's
label, and a VRF's VPNv4 routes with [transport, VPN])."""
from __future__ import annotations

import json
from pathlib import Path

from cloudnet_emu.kernel import routes

CAPTURED = Path(__file__).parent / "captured"


def test_a_plain_reader_loses_the_prefix_of_a_labelled_route():
    """Why the parser exists: the label stack comes under a second "dst" key, which wins in json.loads."""
    text = (CAPTURED / "ip_route_vrf_vpnv4.json").read_text()
    assert [r["dst"] for r in json.loads(text)][1:3] == ["10.1.1.0/24", "20/144"]


def test_the_vrf_table_keeps_its_prefixes_and_gets_the_vpnv4_label_stacks():
    rows = routes.parse((CAPTURED / "ip_route_vrf_vpnv4.json").read_text())
    assert [r["dst"] for r in rows] == ["default", "10.1.1.0/24", "10.1.2.0/24", "100.65.0.0/30", "100.65.0.4/30"]
    assert [routes.labels(r) for r in rows] == [[], [], [20, 144], [], [20, 144]]
    assert rows[2]["gateway"] == "100.64.0.2" and rows[2]["dev"] == "p1" and rows[2]["protocol"] == "bgp"


def test_ldp_labels_on_the_igp_routes_of_the_main_table():
    rows = routes.parse((CAPTURED / "ip_route_ldp.json").read_text())
    by_dst = {r["dst"]: routes.labels(r) for r in rows}
    assert by_dst["100.127.255.2"] == [20] and by_dst["100.127.255.5"] == []     # p1 itself: implicit null
    assert len(by_dst) == len(rows) == 12


def test_unreadable_output_is_no_route():
    assert routes.parse("") == [] and routes.parse("not json") == [] and routes.parse("{}") == []
