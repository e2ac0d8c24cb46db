"""isolation.py without root: pcap reading and which watchers judge which probe."""
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import CookedLinuxV2
from scapy.utils import wrpcap

from cloudnet_emu import isolation


def test_lengths_counts_ip_total_lengths_of_a_cooked_capture(tmp_path):
    path = str(tmp_path / "w.pcap")
    pkts = [CookedLinuxV2(proto=0x0800) / IP(dst="10.1.2.3") / ICMP() / (b"x" * (n - 28))
            for n in (isolation.CONTROL_LEN, isolation.CONTROL_LEN, isolation.PROBE_BASE + 3)]
    wrpcap(path, pkts)
    got = isolation.lengths(path)
    assert got == {isolation.CONTROL_LEN: 2, isolation.PROBE_BASE + 3: 1}


def test_an_empty_or_missing_capture_counts_nothing(tmp_path):
    assert isolation.lengths(str(tmp_path / "none.pcap")) == {}
    (tmp_path / "empty.pcap").write_bytes(b"")
    assert isolation.lengths(str(tmp_path / "empty.pcap")) == {}


def test_marker_lengths_fit_every_mtu_and_never_collide_with_the_control():
    assert isolation.CONTROL_LEN < isolation.PROBE_BASE < isolation.PROBE_MAX <= 1450
