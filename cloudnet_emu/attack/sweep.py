"""Case 3: the Internet node sweeps every tenant address.

ICMP echo, TCP SYN (22, 80) and UDP (53, 7) to every enterprise host, VM, CE access address and
VPN transit address, from the Internet node's own address and from spoofed tenant addresses;
ARP who-has for each of them on the Internet link.  Leaks: any marker packet inside a tenant
namespace, and any reply (IP from outside the Internet prefix, or an ARP reply) at the attacker.
Controls: a tenant host's packet of the same shape to another host of its tenant is seen inside
the tenant; the attacker's own sniffer sees the PE's reply to a ping of the PE.
"""
from __future__ import annotations

import ipaddress

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

import re

from ..verdict import Sent
from .packets import marker_control
from .result import Result, merge, skipped
from .tools import Control, Env, Watch, control, diff, inject, mac_of, marker_bpf, observe, ping, snapshot, watch_nodes

LEN, CONTROL_LEN = 1251, 1253


def targets(env: Env) -> list[str]:
    out = set()
    for meta in env.world.sites.values():
        out |= set(meta.hosts.values())
        out.add(meta.access["ce"].split("/")[0])
        out.add(meta.gateway)
    for vpn in env.world.vpn.values():
        out |= {a.split("/")[0] for a in (vpn.transit or {}).values()}
    out |= {vm["ip"] for vm in env.vms.values()}
    return sorted(out, key=ipaddress.ip_address)


def _probes(src: str, dst: str):
    def pad(head_len):
        return Raw(b"\x5a" * (LEN - head_len))
    return [IP(src=src, dst=dst) / ICMP() / pad(28),
            IP(src=src, dst=dst) / TCP(sport=40000, dport=22, flags="S") / pad(40),
            IP(src=src, dst=dst) / TCP(sport=40000, dport=80, flags="S") / pad(40),
            IP(src=src, dst=dst) / UDP(sport=40000, dport=53) / pad(28),
            IP(src=src, dst=dst) / UDP(sport=40000, dport=7) / pad(28)]


def sweep(env: Env) -> Result:
    inet = env.world.internet
    if not inet:
        return skipped("sweep", env.realization(), "no Internet node in this topology: nothing to sweep from")
    node, iface = inet.node, inet.pe
    me = inet.address.split("/")[0]
    prefix = ipaddress.ip_network(inet.address, strict=False)
    src_mac, pe_mac = mac_of(env.netns(node), iface), mac_of(env.netns(inet.pe), node)
    dsts = targets(env)
    spoofed = [me] + sorted(set(env.world.hosts().values()))[:2]
    frames = [Ether(src=src_mac, dst=pe_mac) / p for s in spoofed for d in dsts for p in _probes(s, d)]
    arps = [Ether(src=src_mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=src_mac, psrc=me, pdst=d) for d in dsts]
    tenants = env.world.tenants
    inside = sorted({n for t in tenants for n in env.tenant_nodes(t)})
    pe_ip = str(next(prefix.hosts()))
    # the attacker's sniffer is live: it sees the PE's reply to its ping of the PE
    replies = Watch({"inet": (env.netns(node), iface)},
                    f"not ether src {src_mac} and ((ip and not src net {prefix}) or (arp and arp[6:2] = 2))",
                    control=Control(f"icmp and icmp[icmptype] = icmp-echoreply and src host {pe_ip}",
                                    rf"{re.escape(pe_ip)} > \S+: ICMP echo reply"))
    before = snapshot(env, inside)
    with watch_nodes(env, inside, marker_bpf(LEN), marker_control(CONTROL_LEN)) as w, replies:
        sent = inject(env.netns(node), iface, frames + arps)
        answered = ping(env, node, pe_ip, 64, count=1)
    after = snapshot(env, inside)
    # control: a tenant's own packet of the sweep's shape is seen inside
    t0 = tenants[0]
    hosts = env.hosts(t0)
    names = sorted(hosts)
    seen = control(env, inside, CONTROL_LEN, lambda: ping(env, names[0], hosts[names[-1]], CONTROL_LEN - 28))
    parts = [observe(Result("sweep", "", sent=sent, leaked=w.total() + replies.total(),
                            control=seen if answered else 0, state_changed=diff(before, after, [src_mac]),
                            sent_by=[Sent(f"{node}:{iface}", "probes and ARP who-has", sent)],
                            notes=[f"{len(dsts)} addresses x {len(spoofed)} sources x 5 probes + ARP; "
                                   f"inside {w.seen() or 'nothing'}, replies {replies.total()}"]
                            + ([] if answered else [f"control: {pe_ip} did not answer the Internet node"])),
                     w, replies)]
    return merge("sweep", env.realization(), parts)
