"""The marker packets the attack cases craft (scapy): a case module imports this, the CLI never does.

A marker packet is an ICMP echo whose IP total length is unusual, so a sniffer's filter
(tools.marker_bpf) counts only the attack's own packets, and a control of another length proves
the same sniffer live (tools.Control).
"""
from __future__ import annotations

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from .tools import Control, marker_bpf


def marker_ip(src: str, dst: str, length: int):
    pad = length - 28
    return IP(src=src, dst=dst, ttl=64) / ICMP(id=0xa7) / Raw(b"\xa7" * pad)


def marker_control(length: int) -> Control:
    """The control of a marker-length watch: IP packets of total length LENGTH."""
    def beacon(mac: str) -> list:
        return [Ether(src=mac, dst=mac) / marker_ip("192.0.2.1", "192.0.2.2", length)]
    return Control(marker_bpf(length), rf"proto \w+ \(\d+\), length {length}\)", beacon)
