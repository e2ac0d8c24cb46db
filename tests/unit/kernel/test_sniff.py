"""kernel/sniff.py: tcpdump's argv, and its -v text (captured) split into packets."""
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from cloudnet_emu.kernel import sniff

CAPTURED = Path(__file__).parent / "captured"


def test_verbose_text_is_one_string_per_packet():
    packets = sniff.packets((CAPTURED / "tcpdump_v.txt").read_text())
    assert len(packets) == 6
    assert all("ICMP echo" in p and p.count("length") == 3 for p in packets)
    assert sum("length 1283)" in p for p in packets) == 2
    assert packets[0].endswith("length 1281) 127.0.0.1 > 127.0.0.1: ICMP echo request, id 12384, seq 1, length 1261")


def test_blank_lines_and_no_output():
    assert sniff.packets("") == []
    assert sniff.packets(None) == []
    assert sniff.packets("a\n\n  b\nc\n") == ["a b", "c"]


def test_argv_text_and_pcap():
    assert sniff.tcpdump_argv("eth0", "mpls", verbose=True, count=2, flush=False) == \
        ["tcpdump", "-i", "eth0", "-nn", "--immediate-mode", "-l", "-e", "-v", "-c", "2", "mpls"]
    assert sniff.tcpdump_argv("any", "icmp", inbound=True) == \
        ["tcpdump", "-i", "any", "-nn", "--immediate-mode", "-l", "-e", "-U", "-Q", "in", "icmp"]
    assert sniff.tcpdump_argv("any", "icmp", write="/tmp/x.pcap") == \
        ["tcpdump", "-i", "any", "-nn", "--immediate-mode", "-w", "/tmp/x.pcap", "-U", "icmp"]


def test_the_ready_line_is_what_tcpdump_says():
    assert "listening on" in (CAPTURED / "tcpdump_v.stderr").read_text()


def _read_back(tmp_path, frame: bytes, bpf: str) -> str:
    """FRAME as tcpdump decodes it through BPF (-e -v), read from a pcap file: no root, no interface."""
    pcap = tmp_path / "control.pcap"
    pcap.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
                     + struct.pack("<IIII", 1, 0, len(frame), len(frame)) + frame)
    res = subprocess.run(["tcpdump", "-r", str(pcap), "-nn", "-e", "-v", bpf], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
@pytest.mark.parametrize("encap, vlan, bpf, shown", [
    ("vlan", 100, "vlan 100", "vlan 100,"),
    ("vxlan", None, "udp port 4789", "VXLAN"),
    ("vxlan", None, sniff.vxlan_icmp_bpf(), "VXLAN"),
    ("mpls", None, "mpls", "MPLS (label 3 "),
])
def test_a_control_frame_matches_its_capture_filter_and_is_told_apart(tmp_path, encap, vlan, bpf, shown):
    frame = sniff.control_frame(encap, vlan)
    text = _read_back(tmp_path, frame, bpf)
    assert shown in text and sniff.CONTROL_DST in text
    assert "bad cksum" not in text
    others, seen = sniff.split_control(text + "12:00:00.000000 02:00:00:00:00:01 > 02:00:00:00:00:02, "
                                       "ethertype 802.1Q (0x8100), length 102: vlan 100, p 0\n")
    assert seen == 1 and len(others) == 1 and sniff.CONTROL_SRC not in others[0]


def test_no_control_frame_for_an_unknown_encapsulation():
    with pytest.raises(ValueError, match="no control frame for 'gre'"):
        sniff.control_frame("gre")


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_the_vxlan_filter_takes_pings_in_any_vni_and_leaves_keepalives_out(tmp_path):
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.l2 import Ether
    from scapy.layers.vxlan import VXLAN

    def frame(vni, inner):
        return bytes(Ether() / IP(src="100.127.255.1", dst="100.127.255.2") / UDP(sport=40000, dport=4789)
                     / VXLAN(vni=vni) / Ether() / IP(src="10.1.1.2", dst="10.1.2.2") / inner)
    assert "vni 10000" in _read_back(tmp_path, frame(10000, ICMP()), sniff.vxlan_icmp_bpf())
    assert "vni 12345" in _read_back(tmp_path, frame(12345, ICMP()), sniff.vxlan_icmp_bpf())
    assert _read_back(tmp_path, frame(10001, TCP(sport=179, dport=40001)), sniff.vxlan_icmp_bpf()) == ""


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_the_vxlan_filter_leaves_out_an_arp_frame_whose_sender_mac_looks_like_icmp(tmp_path):
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import ARP, Ether
    from scapy.layers.vxlan import VXLAN

    # byte 9 of the inner ARP header (where IPv4 keeps its protocol) is the sender MAC's second byte
    arp = (Ether() / IP(src="100.127.255.1", dst="100.127.255.2") / UDP(sport=40000, dport=4789)
           / VXLAN(vni=10001) / Ether(src="02:01:00:00:00:07") / ARP(hwsrc="02:01:00:00:00:07", psrc="10.1.1.1"))
    assert bytes(arp)[14 + 20 + 39] == 1
    assert _read_back(tmp_path, bytes(arp), sniff.vxlan_icmp_bpf()) == ""
