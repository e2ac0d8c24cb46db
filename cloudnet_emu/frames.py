"""Raw Ethernet frame streams for isolation probes: `python -m cloudnet_emu.frames ROLE ...` in a namespace.

    send IFACE SRC_MAC DST_MACS RATE SECONDS   frames of EtherType 0x88b5 (IEEE local experimental),
                                               payload b"cnprobe" + seq + send time, round-robin over
                                               DST_MACS (comma-separated; ff:ff:ff:ff:ff:ff floods)
    count IFACE SECONDS                        every frame seen on IFACE carrying the probe payload

Both print one JSON object when they end (SIGTERM ends them early): `send` {"sent": n, "start", "end"},
`count` {"frames": [[seq, send_time, receive_time, src_mac], ...]}.  AF_PACKET sockets, no scapy: the
sender keeps its rate through a restart of the switch (a send into a missing datapath is just lost).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys
import time
from typing import Optional

from .kernel.exec import DEVNULL, spawn
from .migration.migrate import Agent

ETHERTYPE = 0x88B5
MAGIC = b"cnprobe"
ETH_P_ALL = 0x0003


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _stopper() -> list:
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *a: stop.__setitem__(0, True))
    return stop


def send(iface: str, src: str, dsts: str, rate: str, seconds: str):
    stop = _stopper()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    targets = [_mac(d) for d in dsts.split(",")]
    interval, end = 1.0 / float(rate), time.time() + float(seconds)
    start, seq = time.time(), 0
    print("ready", flush=True)
    while not stop[0] and time.time() < end:
        frame = targets[seq % len(targets)] + _mac(src) + struct.pack("!H", ETHERTYPE) + MAGIC + \
            struct.pack("!Id", seq, time.time())
        try:
            s.send(frame.ljust(60, b"\0"))
        except OSError:            # the link went away for a moment: the frame is lost, go on
            pass
        seq += 1
        time.sleep(max(0.0, start + seq * interval - time.time()))
    print(json.dumps({"sent": seq, "start": start, "end": time.time()}), flush=True)


def count(iface: str, seconds: str):
    stop = _stopper()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.2)
    frames, end = [], time.time() + float(seconds)
    print("ready", flush=True)
    while not stop[0] and time.time() < end:
        try:
            data, addr = s.recvfrom(2048)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        at = data.find(MAGIC)
        if at >= 14:
            seq, sent = struct.unpack("!Id", data[at + len(MAGIC): at + len(MAGIC) + 12])
            frames.append([seq, sent, time.time(), data[6:12].hex(":")])
    print(json.dumps({"frames": frames}), flush=True)


class Stream(Agent):
    """One of the roles above running in namespace NETNS; `result()` stops it and returns its JSON."""

    def __init__(self, netns: Optional[str], role: str, *args):
        argv = [sys.executable, "-m", "cloudnet_emu.frames", role, *map(str, args)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.proc = spawn(argv, netns or None, stdin=DEVNULL, env=env)
        self.role, self.netns = f"frames {role}", netns
        self.wait_ready()

    def result(self, timeout: float = 60, stop: bool = True) -> dict:
        return super().result(timeout, stop)


ROLES = {"send": send, "count": count}

if __name__ == "__main__":
    ROLES[sys.argv[1]](*sys.argv[2:])
