"""Cases 1 and 2: labels and tunnels from outside the backbone.

    label_spoof     a tenant's CE sends its PE MPLS frames (ethertype 0x8847) carrying another
                    tenant's VPN label, alone and under a transport label; the Internet node does
                    the same toward its PE.  The labels are those the MPLS core allocates
                    (plan/addressing.py), sent as real frames on every core realization: on a
                    VXLAN core they prove that a labelled frame goes nowhere.
    tunnel_inject   the Internet node sends VXLAN (UDP 4789, the tenant's VNI) to every PE
                    loopback, from its own and from a spoofed PE source address, inner frames a
                    gratuitous ARP claiming the tenant's gateway and an ICMP packet to a tenant
                    host; and MPLS-in-IP (IP protocol 137) with the tenant's VPN label.

Positive controls: the same inner packet sent unlabelled by the victim tenant's own CE (case 1),
and the same tunnel packet sent by a backbone router (p*) to the PE (case 2) ARE seen by the
sniffers in the victim tenant.
"""
from __future__ import annotations

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.layers.vxlan import VXLAN
from scapy.contrib.mpls import MPLS

from ..plan import addressing
from ..verdict import Sent
from .packets import marker_control, marker_ip
from .result import Result, merge, skipped
from .tools import Env, control, diff, inject, mac_of, marker_bpf, observe, snapshot, watch_nodes

LEN, CONTROL_LEN = 1237, 1239
ATTACKER_MAC = "02:a7:7a:c0:00:01"
CONTROL_MAC = "02:a7:7a:c0:00:99"       # the controls' frames: not a suspect in the state diffs


def _tenant_index(env: Env, tenant: str) -> int:
    return env.world.tenant_index(tenant)


def _pe_index(env: Env, pe: str) -> int:
    return env.world.underlay.pe_index[pe]


def _labels(env: Env, tenant: str) -> list[tuple[int, ...]]:
    """The victim's VPN labels at every PE, alone and under the transport label toward that PE."""
    t = _tenant_index(env, tenant)
    known = env.world.vpn.get(tenant)
    vpn = (known.vpn_labels if known else None) or \
        {pe: addressing.vpn_label(t, i) for pe, i in env.world.underlay.pe_index.items()}
    idx = env.world.underlay.index
    out = []
    for pe, label in sorted(vpn.items()):
        out.append((label,))
        out.append((addressing.transport_label(idx[pe], _pe_index(env, pe)), label))
    return out


def _mpls(stack: tuple[int, ...], inner):
    pkt = None
    for i, label in enumerate(stack):
        layer = MPLS(label=label, s=1 if i == len(stack) - 1 else 0, ttl=64)
        pkt = layer if pkt is None else pkt / layer
    return pkt / inner


def _victim(env: Env, tenant: str) -> tuple[str, str, str]:
    """(site, host, address) of a host of TENANT."""
    for site, meta in sorted(env.world.sites.items()):
        if meta.tenant == tenant and meta.hosts:
            host, ip = next(iter(sorted(meta.hosts.items())))
            return site, host, ip
    raise LookupError(f"tenant {tenant} has no site with hosts")


def label_spoof(env: Env) -> Result:
    parts = []
    tenants = env.world.tenants
    inet = env.world.internet
    for victim in tenants:
        vsite, vhost, vip = _victim(env, victim)
        inner = marker_ip("198.51.100.99", vip, LEN)
        senders = []          # (node, iface, dst mac)
        for site, meta in sorted(env.world.sites.items()):
            if meta.tenant != victim:
                senders.append((site, meta.pe, mac_of(env.netns(meta.vrf_node), site)))
        if inet:
            senders.append((inet.node, inet.pe, mac_of(env.netns(inet.pe), inet.node)))
        frames = {}
        for node, iface, dst in senders:
            src = mac_of(env.netns(node), iface)
            frames[(node, iface)] = [Ether(src=src, dst=dst, type=0x8847) / _mpls(stack, inner)
                                     for stack in _labels(env, victim)]
        watched = env.tenant_nodes(victim)
        before = snapshot(env, watched)
        with watch_nodes(env, watched, marker_bpf(LEN), marker_control(CONTROL_LEN)) as w:
            by = [Sent(f"{node}:{iface}", "MPLS-labelled frames", inject(env.netns(node), iface, fs, count=2))
                  for (node, iface), fs in frames.items()]
        sent = sum(b.count for b in by)
        after = snapshot(env, watched)
        # control: the same inner packet, unlabelled, from the victim's own CE to its PE
        meta = env.world.sites[vsite]
        ce_src = mac_of(env.netns(vsite), meta.pe)
        pe_mac = mac_of(env.netns(meta.vrf_node), vsite)
        good = Ether(src=ce_src, dst=pe_mac) / marker_ip(meta.gateway, vip, CONTROL_LEN)
        seen = control(env, watched, CONTROL_LEN, lambda: inject(env.netns(vsite), meta.pe, [good], count=2))
        parts.append(observe(Result("label_spoof", "", sent=sent, leaked=w.total(), control=seen,
                                    state_changed=diff(before, after, [ATTACKER_MAC]), sent_by=by,
                                    notes=[f"{victim}: leaks at {w.seen()}" if w.total() else
                                           f"{victim}: {sent} labelled frames from {len(frames)} senders, "
                                           "none arrived"]), w))
    return merge("label_spoof", env.realization(), parts)


def tunnel_inject(env: Env) -> Result:
    inet = env.world.internet
    if not inet:
        return skipped("tunnel_inject", env.realization(), "no Internet node in this topology: nothing to attack from")
    inet_ip = inet.address.split("/")[0]
    node, iface = inet.node, inet.pe
    src_mac, pe_mac = mac_of(env.netns(node), iface), mac_of(env.netns(inet.pe), node)
    loop = {pe: a.split("/")[0] for pe, a in env.world.loopbacks.items() if pe in env.world.underlay.pe_index}
    parts = []
    for tenant in env.world.tenants:
        t = _tenant_index(env, tenant)
        vpn = env.world.vpn.get(tenant)
        vni = (vpn.vni if vpn else None) or addressing.vni(t)
        vrfs = {v.pe: v for v in env.world.vrfs.values() if v.tenant == tenant}
        sites = {m.pe: (s, m) for s, m in env.world.sites.items() if m.tenant == tenant and m.hosts}
        outer_frames, ctl_frames = [], []
        for pe, vrf in sorted(vrfs.items()):
            if pe not in sites:
                continue
            site, meta = sites[pe]
            vip = next(iter(meta.hosts.values()))
            try:
                vx_mac = mac_of(env.netns(vrf.node), f"vx-{tenant}")
            except LookupError:
                vx_mac = "ff:ff:ff:ff:ff:ff"
            claims = [meta.gateway] + [a.split("/")[0] for a in ((vpn.transit if vpn else None) or {}).values()]
            inners = [Ether(src=ATTACKER_MAC, dst="ff:ff:ff:ff:ff:ff") /
                      ARP(op=1, hwsrc=ATTACKER_MAC, psrc=c, hwdst="00:00:00:00:00:00", pdst=c) for c in claims]
            inners.append(Ether(src=ATTACKER_MAC, dst=vx_mac) / marker_ip("100.66.255.254", vip, LEN))
            other = next((a for p, a in loop.items() if p != pe), inet_ip)
            for outer_src in (inet_ip, other):
                for inner in inners:
                    outer_frames.append(Ether(src=src_mac, dst=pe_mac) / IP(src=outer_src, dst=loop[pe]) /
                                        UDP(sport=4789, dport=4789) / VXLAN(vni=vni, flags=8) / inner)
                for stack in _labels(env, tenant):
                    outer_frames.append(Ether(src=src_mac, dst=pe_mac) / IP(src=outer_src, dst=loop[pe], proto=137) /
                                        _mpls(stack[-1:], marker_ip("100.66.255.254", vip, LEN)))
            ctl_frames.append((pe, vx_mac, vip))
        if not outer_frames:
            continue
        watched = env.tenant_nodes(tenant)
        before = snapshot(env, watched)
        with watch_nodes(env, watched, marker_bpf(LEN), marker_control(CONTROL_LEN)) as w:
            sent = inject(env.netns(node), iface, outer_frames, count=2)
        after = snapshot(env, watched)
        seen = control(env, watched, CONTROL_LEN, lambda: _backbone_control(env, tenant, vni, ctl_frames, loop))
        parts.append(observe(Result("tunnel_inject", "", sent=sent, leaked=w.total(), control=seen,
                                    state_changed=diff(before, after, [ATTACKER_MAC]),
                                    sent_by=[Sent(f"{node}:{iface}", "VXLAN/MPLS-in-IP packets", sent)],
                                    notes=[f"{tenant}: leaks at {w.seen()}" if w.total() else
                                           f"{tenant}: {sent} VXLAN/MPLS-in-IP packets from the Internet, "
                                           "none arrived"]), w))
    return merge("tunnel_inject", env.realization(), parts)


def _backbone_control(env: Env, tenant: str, vni: int, targets, loop) -> int:
    """The same kind of packet from the backbone (the P router) into each PE: it is delivered."""
    core = env.record["realizations"].get("core")
    t = _tenant_index(env, tenant)
    sent = 0
    p_routers = env.world.underlay.p_routers()
    for pe, vx_mac, vip in targets:
        for p in p_routers:
            try:
                src, dst = mac_of(env.netns(p), pe), mac_of(env.netns(pe), p)
            except LookupError:
                continue
            p_ip = env.world.loopbacks[p].split("/")[0]
            if core == "mpls":
                frame = Ether(src=src, dst=dst, type=0x8847) / _mpls(
                    (addressing.vpn_label(t, _pe_index(env, pe)),), marker_ip("100.66.255.254", vip, CONTROL_LEN))
            else:
                frame = (Ether(src=src, dst=dst) / IP(src=p_ip, dst=loop[pe]) / UDP(sport=4789, dport=4789) /
                         VXLAN(vni=vni, flags=8) / Ether(src=CONTROL_MAC, dst=vx_mac) /
                         marker_ip("100.66.255.254", vip, CONTROL_LEN))
            sent += inject(env.netns(p), pe, [frame], count=2)
            break
    return sent
