"""The ARP agents, run inside a node's namespace: `python -m cloudnet_emu.migration.agent_arp ROLE ...`.

    garp IFACE IP MAC DELAYS_MS     gratuitous ARP after each delay (QEMU-style announce rounds)
    sniff IFACE SECONDS MAC         gratuitous ARPs from MAC seen on IFACE; print their times

As agent.py's roles: wall-clock times, one JSON object on stdout at the end.  A program apart
from agent.py because it loads scapy (a second or so), which the other agents need not wait for.
"""
from __future__ import annotations

import json
import signal
import sys
import threading
import time

from scapy.all import ARP, AsyncSniffer, Ether, conf, sendp


def garp(iface: str, ip: str, mac: str, delays_ms: str):
    """Says "ready" (scapy loaded with the module, its sockets warmed up), and sends the rounds when a
    line arrives on stdin (the resume)."""
    conf.verb = 0
    frame = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac, psrc=ip, hwdst="00:00:00:00:00:00",
                                                            pdst=ip)
    sendp(frame, iface="lo", count=0)      # warm up scapy's sockets without sending anything
    print("ready", flush=True)
    sys.stdin.readline()
    times = []
    for d in [int(x) for x in delays_ms.split(",")]:
        time.sleep(d / 1000)
        sendp(frame, iface=iface)
        times.append(time.time())
    print(json.dumps({"sent": times}), flush=True)


def sniff(iface: str, seconds: str, mac: str):
    conf.verb = 0
    seen = []
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())

    def keep(p):
        if ARP in p and p[ARP].hwsrc.lower() == mac.lower() and p[ARP].psrc == p[ARP].pdst:
            seen.append({"time": float(p.time), "ip": p[ARP].psrc, "mac": p[ARP].hwsrc})
    # trunks carry the frames 802.1Q-tagged: "arp" alone would miss them
    sniffer = AsyncSniffer(iface=iface, filter="arp or (vlan and arp)", prn=keep, store=False)
    sniffer.start()
    time.sleep(0.2)          # the socket is open and filtering
    print("ready", flush=True)
    done.wait(float(seconds))
    sniffer.stop()
    print(json.dumps({"garps": seen}), flush=True)


ROLES = {f.__name__: f for f in (garp, sniff)}

if __name__ == "__main__":
    ROLES[sys.argv[1]](*sys.argv[2:])
