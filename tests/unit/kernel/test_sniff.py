"""kernel/sniff.py: tcpdump's argv, and its -v text (captured) split into packets."""
from pathlib import Path

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
