"""Reservation planning without root: paths, classifiers at the right offsets, admission, delays."""
from __future__ import annotations

import struct

import pytest

from cloudnet_emu.errors import AdmissionError, SpecError
from cloudnet_emu.plan import reserve as R
from cloudnet_emu.plan.build import build_plan
from cloudnet_emu.plan.choose import choose
from cloudnet_emu.spec.load import load_topology
from tests.unit.plan.test_plan import REDUCED, features


@pytest.fixture(scope="module")
def plans():
    topo = load_topology("topologies/cloudnet.yaml")
    return {"full": build_plan(topo, choose(topo, features())),
            "reduced": build_plan(topo, choose(topo, REDUCED, degrade=True))}


def _u32_matches(argv: list[str]) -> list[tuple[int, int, int, int]]:
    """(offset, size, value, mask) of each `match u32|u16 VALUE MASK at OFF`."""
    out = []
    for i, word in enumerate(argv):
        if word == "match":
            size = {"u32": 4, "u16": 2}[argv[i + 1]]
            out.append((int(argv[i + 5]), size, int(argv[i + 2], 16), int(argv[i + 3], 16)))
    return out


def _matches(packet: bytes, argv: list[str]) -> bool:
    for off, size, value, mask in _u32_matches(argv):
        word = int.from_bytes(packet[off:off + size], "big")
        if word & mask != value:
            return False
    return all(off % size == 0 for off, size, _, _ in _u32_matches(argv))


def _ipv4(src: str, dst: str, proto: int = 6) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, proto, 0,
                       bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))


def test_classifiers_read_the_packet_as_it_is_on_each_hop():
    inner = _ipv4("10.1.100.2", "10.1.1.2")
    plain = R.classifier("ip", "10.1.100.2/32", "10.1.1.0/24")
    assert _matches(inner, plain) and not _matches(_ipv4("10.1.100.3", "10.1.1.2"), plain)
    # VXLAN: outer IPv4 + UDP to 4789 + VXLAN header with the VNI + inner Ethernet + the inner packet
    vxlan = (_ipv4("100.127.255.1", "100.127.255.3", 17) + struct.pack("!HHHH", 40000, 4789, 0, 0)
             + struct.pack("!II", 0x08000000, 10001 << 8) + b"\x02" * 12 + b"\x08\x00" + inner)
    on_core = R.classifier("vxlan", "10.1.100.2/32", "10.1.1.2/32", vni=10001)
    assert _matches(vxlan, on_core)
    assert not _matches(vxlan, R.classifier("vxlan", "10.1.100.2/32", "10.1.1.2/32", vni=10000)), "another tenant"
    # MPLS without PHP: [transport][VPN label, bottom of stack] + the inner packet
    stack = struct.pack("!II", (1001 << 12) | 64, (20100 << 12) | 0x100 | 64) + inner
    assert _matches(stack, R.classifier("mpls", "10.1.100.2/32", "10.1.1.2/32", label=20100))
    assert not _matches(stack, R.classifier("mpls", "10.1.100.2/32", "10.1.1.2/32", label=20000))


def test_a_pipe_takes_the_attachment_circuits_and_the_core_path(plans):
    links = R.Links(plans["full"].info)
    vm = R.End("b1", "10.1.100.2/32", "pe3")
    h1 = R.End("bravo-h1", "10.1.1.2/32", "pe1", "bravo-hq")
    hops = R.pipe_hops(links, "mpls", 1, vm, h1, 40)
    assert [(h.node, h.dev, h.direction, h.encap, h.capacity) for h in hops] == [
        ("pe3", "p1", "pe3>p1", "mpls", 1000), ("p1", "pe1", "p1>pe1", "mpls", 1000),
        ("pe1", "bravo-hq", "pe1>bravo-hq", "ip", 100)]
    back = R.pipe_hops(links, "vxlan", 1, h1, vm, 40)
    assert [h.direction for h in back] == ["bravo-hq>pe1", "pe1>p1", "p1>pe3"]


def test_admission_counts_each_link_direction(plans):
    links = R.Links(plans["full"].info)
    a = R.End("x", "10.1.100.2/32", "pe3")
    b = R.End("bravo-h1", "10.1.1.2/32", "pe1", "bravo-hq")
    hops = R.pipe_hops(links, "mpls", 1, a, b, 60)
    R.admit(hops, {}, "r1")
    used = R.usage([R.to_dicts(hops)])
    assert used["pe1>bravo-hq"] == 60 and "bravo-hq>pe1" not in used
    with pytest.raises(AdmissionError, match=r"link pe1 -> bravo-hq has 40 Mbit/s free of 100, needs 60"):
        R.admit(hops, used, "r2")
    R.admit(R.pipe_hops(links, "mpls", 1, b, a, 100), used, "the other way is free")


def test_delays_realized_and_declared(plans):
    a = R.End("bravo-h1", "10.1.1.2/32", "pe1", "bravo-hq")
    dc1, dc2 = R.End("v", "10.1.100.2/32", "pe3"), R.End("w", "10.1.100.3/32", "pe4")
    full, reduced = R.Links(plans["full"].info), R.Links(plans["reduced"].info)
    assert full.one_way_delay(a, dc1) == 8.0 and full.one_way_delay(a, dc2) == 6.0
    assert reduced.one_way_delay(a, dc1) == 0.0, "netem degraded: nothing realized"
    assert reduced.one_way_delay(a, dc1, declared=True) == 8.0


def _problems(tmp_path, extra: str) -> str:
    path = tmp_path / "t.yaml"
    path.write_text(open("topologies/cloudnet.yaml").read() + extra)
    with pytest.raises(SpecError) as exc:
        load_topology(str(path))
    return str(exc.value)


def test_topology_reservations_are_checked(tmp_path):
    text = _problems(tmp_path, """
reservations:
  - {name: db, vpc: acme-vpc, between: [acme-h1, acme-h2], bw: 10}
  - {name: db2, vpc: bravo-vpc, between: [bravo-h1, nobody], bw: 10}
  - {name: hose, vpc: bravo-vpc, site: acme-hq, ingress: 5}
""")
    assert "reservations are for l3vpn VPCs" in text
    assert "'nobody' is neither a VM of VPC bravo-vpc nor a host or site it joins" in text
    assert "'acme-hq' is not an enterprise site of VPC bravo-vpc" in text
    text = _problems(tmp_path, """
reservations:
  - {name: half, vpc: bravo-vpc, between: [bravo-h1, bravo-h3]}
""")
    assert "a pipe reservation has `between: [A, B]` and `bw`" in text and ":81:5:" in text


def test_a_hose_spans_the_core_paths_to_the_vpcs_cloud_pes(plans):
    from cloudnet_emu.managers.reservations import ReservationBook
    book = ReservationBook("t", plans["full"].info, "mpls", ledger=None, tenant_index=lambda t: 1)
    req = {"name": "hq", "vpc": "bravo-vpc", "tenant": "bravo", "kind": "hose", "site": "bravo-hq", "pe": "pe1",
           "subnet": "10.1.1.0/24", "vpc_subnet": "10.1.100.0/24", "ingress": 50, "egress": 20,
           "cloud_pes": ["pe3", "pe4"]}
    hops = {h.direction: h for h in book.hops(req)}
    # once per link direction: the hose bounds the site's total, wherever it goes
    assert {d: h.rate for d, h in hops.items()} == {
        "bravo-hq>pe1": 20, "pe1>bravo-hq": 50, "pe1>p1": 20, "p1>pe3": 20, "p1>pe4": 20,
        "pe3>p1": 50, "pe4>p1": 50, "p1>pe1": 50}
    # pe1 -> p1 carries traffic toward both cloud PEs: one class, a filter per VPN label
    labels = sorted(int(m[2], 16) >> 12 for m in hops["pe1>p1"].matches)
    assert labels == [20102, 20103] and hops["pe1>p1"].encap == "mpls"
    with pytest.raises(AdmissionError, match="link p1 -> pe3 has 10 Mbit/s free of 1000, needs 20"):
        R.admit(list(hops.values()), {"p1>pe3": 990}, "hose hq")
