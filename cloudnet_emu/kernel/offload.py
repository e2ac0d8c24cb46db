"""Checksum offload off on veths that lead into Open vSwitch's userspace datapath without TSO.

A veth hands packets over with the transport checksum still to be filled in
(CHECKSUM_PARTIAL); the userspace datapath reads them with AF_PACKET and sends them
on unchanged, so TCP and UDP arrive with bad checksums and are dropped (ICMP, checksummed
in software, gets through and hides the problem).  Turning TX checksumming off makes
the kernel fill the checksum before the packet leaves: one ETHTOOL_STXCSUM ioctl.
"""
from __future__ import annotations

import array
import fcntl
import socket
import struct
from typing import Optional

from ..errors import RealizeError
from . import ns

SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17


def tx_checksum_off(netns: Optional[str], ifname: str, sock: Optional[socket.socket] = None) -> None:
    """`sock`: an AF_INET socket opened in NETNS already (a kept handle's), so that the ioctl needs
    no entry into the namespace."""
    def do(s: socket.socket):
        value = array.array("I", [ETHTOOL_STXCSUM, 0])
        ifreq = struct.pack("16sP", ifname.encode(), value.buffer_info()[0])
        try:
            fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifreq)
        except OSError as exc:
            raise RealizeError(f"ethtool -K {ifname} tx off", exc.errno, exc.strerror) from None

    def fresh():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            do(s)
    if sock is not None:
        do(sock)
    elif netns is None:
        fresh()
    else:
        ns.enter(netns, fresh)
