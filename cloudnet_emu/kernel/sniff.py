"""tcpdump as a witness: its argv, when a started sniffer may be trusted to see what follows, and
its decoded text split into packets (tcpdump has no JSON output: packets() is the one reader).

tcpdump writes "listening on ..." to stderr once its filter is attached; before that line a packet
may pass unseen, and a tcpdump that exits before it (a bad filter, a missing namespace) saw nothing.
Every sniffer in the product (checks, isolation, attack) waits for that line, each with its own
deadline, and turns a sniffer that never said it into an error of its verdict.
"""
from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import time
from typing import Optional

from . import exec as kexec
from . import ns

READY_S = 10.0      # per sniffer: under software emulation (the VM tier) tcpdump can take seconds


def wait_listening(proc: subprocess.Popen, timeout: float = READY_S) -> tuple[bool, str]:
    """(ready, what tcpdump said on stderr until then).  Not ready: it exited (proc.returncode is
    set) or the deadline passed.  Reads the pipe's descriptor directly, so text or bytes mode alike."""
    fd, buf = proc.stderr.fileno(), b""
    deadline = time.monotonic() + timeout
    while b"listening on" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            return False, buf.decode(errors="replace").strip()
        ready, _, _ = select.select([fd], [], [], left)
        chunk = os.read(fd, 4096) if ready else b""
        if ready and not chunk:          # EOF: tcpdump exited
            proc.wait(timeout=5)
            return False, buf.decode(errors="replace").strip()
        buf += chunk
    return True, buf.decode(errors="replace")


def tcpdump_argv(iface: str, bpf: str, write: Optional[str] = None, verbose: bool = False,
                 count: Optional[int] = None, inbound: bool = False, flush: bool = True) -> list[str]:
    """tcpdump on IFACE ("any": every interface) for BPF, numeric.  WRITE: pcap into that file
    (read back with scapy); otherwise decoded text on stdout, a line per packet (-l), link headers
    included (-e), VERBOSE (-v) continuing a packet on indented lines.  COUNT: exit after that many
    packets; INBOUND: only what enters through the interface; FLUSH: each packet as it comes (-U)."""
    return (["tcpdump", "-i", iface, "-nn", "--immediate-mode"] + (["-w", write] if write else ["-l", "-e"])
            + (["-U"] if flush else []) + (["-v"] if verbose else []) + (["-c", str(count)] if count else [])
            + (["-Q", "in"] if inbound else []) + [bpf])


def start(netns: Optional[str], argv: list[str]) -> subprocess.Popen:
    """Start a tcpdump ARGV (tcpdump_argv) in namespace NETNS; its text on stdout (none when it
    writes a file), what it says on stderr (wait_listening reads it)."""
    return kexec.spawn(argv, netns=netns, stdout=kexec.DEVNULL if "-w" in argv else kexec.PIPE)


def packets(text: str) -> list[str]:
    """tcpdump's decoded text, one string per packet: a line that does not start with blanks
    begins a packet, an indented one continues it (-v), joined by a blank; empty lines dropped."""
    out: list[str] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        if line[0].isspace() and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out


# A capture's own control: one frame sent out of the captured interface once the filter is attached,
# shaped to match that filter.  Seeing it proves the capture live and its filter matching on that
# interface in the same run.  It is addressed so that nothing beyond the link acts on it: no bridge
# forwards the IEEE 802.1 link-local group address, and none learns a group source address (OVS and
# Linux bridges refuse to); a router neither routes (not PACKET_HOST) nor label-switches it, nor
# owns TEST-NET-1.
CONTROL_SRC = "03:63:6e:63:74:6c"
CONTROL_DST = "01:80:c2:00:00:0e"
MAGIC = b"cncontrol"
ENCAPS = ("vlan", "vxlan", "mpls")


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _ipv4_udp(dport: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", 4789, dport, 8 + len(payload), 0) + payload
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 1, 17, 0,
                       socket.inet_aton("192.0.2.1"), socket.inet_aton("192.0.2.2"))
    words = sum(struct.unpack("!10H", head))
    while words >> 16:
        words = (words & 0xFFFF) + (words >> 16)
    return head[:10] + struct.pack("!H", ~words & 0xFFFF) + head[12:] + udp


def control_frame(encap: str, vlan: Optional[int] = None) -> bytes:
    """The control frame for a capture of ENCAP: `vlan` (802.1Q with VLAN), `vxlan` (UDP port 4789,
    a VXLAN header with VNI 0 in front of the marker) or `mpls` (one label, 3, bottom of stack)."""
    eth = _mac(CONTROL_DST) + _mac(CONTROL_SRC)
    if encap == "vlan":
        body = struct.pack("!HHH", 0x8100, vlan, 0x88B5) + MAGIC
    elif encap == "vxlan":
        body = struct.pack("!H", 0x0800) + _ipv4_udp(4789, struct.pack("!II", 0x08000000, 0) + MAGIC)
    elif encap == "mpls":
        body = struct.pack("!HI", 0x8847, (3 << 12) | (1 << 8) | 1) + MAGIC
    else:
        raise ValueError(f"no control frame for {encap!r}; one of {', '.join(ENCAPS)}")
    return (eth + body).ljust(60, b"\0")


def vxlan_icmp_bpf() -> str:
    """A capture filter for VXLAN packets carrying ICMP (the checks' pings, in whichever VNI), and
    for the control frame (VNI 0, which no VPN uses).  A plain `udp port 4789` would also take
    routing daemons' keepalives over the tenants' transits in place of the traffic under test.
    Offsets in the UDP payload: VXLAN's VNI is bytes 4-6 of its 8-byte header, after it the inner
    Ethernet header (14 bytes, its type at bytes 12-13), then the inner IPv4 header with its
    protocol at byte 9.  The inner type is checked too: byte 39 of an ARP frame is the second byte
    of its sender's MAC, which is 1 for one random MAC in 256."""
    return "udp port 4789 and ((udp[12:4] >> 8) = 0 or (udp[28:2] = 0x0800 and udp[39] = 1))"


def send_control(netns: Optional[str], iface: str, frame: bytes) -> None:
    """Send FRAME out of IFACE in NETNS (None: the root namespace); OSError if it cannot leave."""
    def send():
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
            sock.bind((iface, 0))
            sock.send(frame)
    ns.enter(netns, send) if netns else send()


def split_control(text: str) -> tuple[list[str], int]:
    """tcpdump's decoded text (-e) as (its packets other than control frames, how many control frames)."""
    pkts = packets(text)
    mine = [p for p in pkts if CONTROL_SRC in p]
    return [p for p in pkts if CONTROL_SRC not in p], len(mine)
