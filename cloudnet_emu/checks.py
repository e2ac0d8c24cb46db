"""`cloudnet-emu check`: reachability, isolation and encapsulation on a running testbed, with real traffic.

Every result is a `verdict.Verdict` (pass / fail / error / not checked, with its evidence):

    reach      iputils ping from the source namespace: a reply passes; no reply (exit 1) fails; a
               ping that could not run (exit 2 or more: missing namespace, bad address, no route in
               the sender itself) is an error, never a verdict about the network
    isolated   judged where a leak would land (isolation.py): every namespace of every other
               tenant and the Internet node watch for the probe, each proven live by a control;
               the sender is proven live too, by a reach probe of its own that got a reply
    encap      a capture on a core link, for every tenant whose VPN spans two PEs
"""
from __future__ import annotations

import ipaddress

from . import isolation, naming
from .errors import RealizeError
from .kernel import ping, sniff
from .kernel import routes as kroutes
from .kernel.exec import finish
from .verdict import Sent, Status, Verdict, Watch
from .world import World
from .managers.ledger import Ledger
from .realize.frr import lacking, sessions


def ping_codes(testbed: str, pairs: list[tuple[str, str]], count: int = 2, size: int = 56,
               wait: float = 1.0) -> dict:
    """Ping all (src node, dst address) pairs in parallel, each echo waited for WAIT s: pair -> (exit
    status, last output line)."""
    procs = {(src, dst): ping.spawn(naming.netns(testbed, src), dst, count=count, wait=wait, size=size)
             for src, dst in pairs}
    out = {}
    for pair, p in procs.items():
        text, _ = p.communicate(timeout=30)
        out[pair] = (p.returncode, ping.last_line(text))
    return out


def pings(testbed: str, pairs: list[tuple[str, str]], count: int = 2, size: int = 56,
          wait: float = 1.0) -> dict[tuple[str, str], bool]:
    """Ping all (src node, dst address) pairs in parallel; True where a reply came back.  A ping
    that could not run at all raises RealizeError: it is no evidence of "no reply"."""
    codes = ping_codes(testbed, pairs, count, size, wait)
    broken = {pair: why for pair, (rc, why) in codes.items() if rc not in (0, 1)}
    if broken:
        raise RealizeError("ping", 0, "; ".join(f"{s} -> {d}: {why}" for (s, d), why in broken.items()))
    return {pair: rc == 0 for pair, (rc, _) in codes.items()}


def _reach_verdict(label: str, src: str, dst: str, rc: int, why: str, count: int) -> Verdict:
    sent = [Sent(src, f"ICMP echo to {dst}", count if rc in (0, 1) else 0)]
    if rc == 0:
        return Verdict(label, "reach", Status.PASS, "reply", sent)
    if rc == 1:
        return Verdict(label, "reach", Status.FAIL, "no reply", sent)
    return Verdict(label, "reach", Status.ERROR, f"ping could not run: {why}", sent)


def endpoints(info: dict | World, vms: list[dict]) -> list[tuple[str, str, str, str]]:
    """(place, node, address, tenant) of every enterprise host and VM."""
    hosts = [(site, name, ip, meta.tenant) for site, meta in World.of(info).sites.items()
             for name, ip in meta.hosts.items()]
    return hosts + [(f"{vm['site']}/{vm['vpc']}", vm["name"], vm["ip"], vm["tenant"]) for vm in vms]


def reachability(testbed: str, info: dict, vms: list[dict] = ()) -> list[Verdict]:
    """Same-tenant sites and VMs reach each other; no other tenant and not the Internet sees a
    packet of theirs, wherever it could land (addresses both tenants use included)."""
    world = World.of(info)
    sites = world.sites
    hosts = endpoints(world, list(vms))
    reach, probes = [], []
    for s1, h1, _, t1 in hosts:
        own = {ip for _, _, ip, t in hosts if t == t1}
        for s2, h2, ip2, t2 in hosts:
            if s1 == s2:
                continue
            if t1 == t2:
                reach.append((h1, ip2, f"{h1} -> {h2} ({ip2})"))
            else:
                probes.append(isolation.Probe(h1, ip2, t1, f"{h1} -> {h2} ({ip2}, tenant {t2})"
                                              + (f": stays in {t1}" if ip2 in own else ""),
                                              reply_is_leak=ip2 not in own))
        for s2, meta in sites.items():
            ce = meta.access["ce"].split("/")[0]
            if meta.tenant != t1 and s2 != s1:
                probes.append(isolation.Probe(h1, ce, t1, f"{h1} -> CE {s2} ({ce}, tenant {meta.tenant})"))
    inet = world.internet
    if inet:
        # the Internet node's own path must work, or its probes prove nothing
        me = ipaddress.ip_interface(inet.address)
        gw = str(next(h for h in me.network.hosts() if h != me.ip))
        reach.append((inet.node, gw, f"{inet.node} -> its PE {inet.pe} ({gw}) (control)"))
        for _, name, ip, tenant in hosts:
            probes.append(isolation.Probe(inet.node, ip, None, f"{inet.node} -> {name} ({ip}, tenant {tenant})"))
    codes = ping_codes(testbed, [(s, d) for s, d, _ in reach])
    out = [_reach_verdict(label, s, d, *codes[(s, d)], count=2) for s, d, label in reach]
    alive = {v.sent[0].src for v in out if v.passed}
    for v in isolation.run(testbed, probes, isolation.watchers(testbed)):
        src = v.sent[0].src
        if v.status is Status.PASS and src not in alive:
            v.status, v.reason = Status.ERROR, f"{src} reached nothing of its own (is its path dead?): {v.reason}"
        out.append(v)
    return out


def capture_text(netns, iface: str, bpf: str, action, control: bytes, count: int = 4,
                 timeout: float = 5) -> tuple[list[str], int]:
    """Decoded packets (tcpdump -e -v, one string per packet) on netns:iface while action() runs, and how
    many CONTROL frames (sniff.control_frame, matching BPF) the capture saw: the frame is sent out of
    iface once the filter is attached, so 0 means a blind capture, which is no evidence.  Raises
    RealizeError if tcpdump dies or does not attach its filter, or the control cannot be sent."""
    proc = sniff.start(netns or None, sniff.tcpdump_argv(iface, bpf, verbose=True, count=count + 1, flush=False))
    ready, said = sniff.wait_listening(proc)
    if not ready:
        died = proc.returncode is not None
        if not died:
            proc.kill()
            proc.wait()
        raise RealizeError(f"tcpdump on {netns or 'root'}:{iface}", 0,
                           (said or "tcpdump died") if died else "its filter was not attached in time")
    try:
        sniff.send_control(netns or None, iface, control)
    except OSError as exc:
        proc.kill()
        proc.wait()
        raise RealizeError(f"control frame out of {netns or 'root'}:{iface}", 0, str(exc)) from None
    action()
    out, _ = finish(proc, timeout)
    pkts, seen = sniff.split_control(out)
    return [" ".join(p.split()) for p in pkts], seen


def core_encapsulation(testbed: str, info: dict, realizations: dict) -> list[Verdict]:
    """For every tenant whose VPN spans two PEs: a capture on a core link shows the encapsulation
    `doctor` announced, with the VPN's id, while a host of one site pings a host of the other."""
    world = World.of(info)
    sites = world.sites
    out = []
    for tenant, meta in world.vpn.items():
        tsites = [s for s, m in sites.items() if m.tenant == tenant and m.hosts]
        if len({sites[s].pe for s in tsites}) < 2:
            continue
        a = tsites[0]
        b = next(s for s in tsites if sites[s].pe != sites[a].pe)
        src = next(iter(sites[a].hosts))
        dst_ip = next(iter(sites[b].hosts.values()))
        link = _core_link_on_path(world, sites[a].pe)
        if link is None:
            continue
        router, iface = link
        if realizations["core"] == "mpls" and meta.vpnv4:
            # bgpd chose the VPN label: read it where it is pushed (the ingress PE's VRF table)
            vrf = world.vrfs[f"{sites[a].pe}/{tenant}"]
            want = str(vpn_label(naming.netns(testbed, vrf.node), vrf.master, dst_ip) or "?")
            bpf, what, mark = "mpls", f"MPLS label stack with VPN label {want} (bgpd's)", f"label {want}"
        elif realizations["core"] == "mpls":
            want = str((meta.vpn_labels or {}).get(sites[b].pe, "?"))
            bpf, what, mark = "mpls", f"MPLS label stack with VPN label {want}", f"label {want}"
        else:
            want = str(meta.vni)
            bpf, what, mark = sniff.vxlan_icmp_bpf(), f"VXLAN with VNI {want}", f"vni {want}"
        name = f"capture {router}:{iface} shows {what} for {src} -> {dst_ip} (tenant {tenant})"
        said = {}
        control = sniff.control_frame("mpls" if realizations["core"] == "mpls" else "vxlan")
        try:
            # room for all 3 echoes and 3 replies: tcpdump stops at its count, and anything else the
            # filter lets through must not end the capture before the pings are on the wire
            pkts, seen = capture_text(naming.netns(testbed, router), iface, bpf,
                                      lambda: said.update(ping_codes(testbed, [(src, dst_ip)], count=3)), control,
                                      count=6)
        except RealizeError as exc:
            out.append(Verdict(name, "encap", Status.ERROR, str(exc)))
            continue
        text = " ".join(pkts)
        sent = [Sent(src, f"ICMP echo to {dst_ip}", 3)]
        watched = [Watch(f"{router}:{iface}", seen, text.count(mark))]
        rc, ping_said = said[(src, dst_ip)]
        if not seen:
            status, reason = Status.ERROR, f"capture blind: {router}:{iface} did not see its own control frame"
        elif rc != 0:
            status, reason = Status.ERROR, (f"the traffic did not flow ({src}: ping exit {rc}, {ping_said!r}); "
                                            f"captured {len(pkts)} packet(s): {text[:300]}")
        elif mark in text:
            status, reason = Status.PASS, f"{text.count(mark)} packet(s) with {mark} captured, replies back"
        else:
            status, reason = Status.FAIL, f"replies came back, but not as {what} on this link: {text[:300] or 'nothing captured'}"
        out.append(Verdict(name, "encap", status, reason, sent, watched))
    return out


def vpn_label(netns: str, vrf: str, address: str):
    """The bottom (VPN) label of the VRF's most specific labelled route to `address`; None without one."""
    best = None
    for prefix, stack in kroutes.labelled(netns, vrf).items():
        net = ipaddress.ip_network(prefix, strict=False)
        if ipaddress.ip_address(address) in net and (best is None or net.prefixlen > best[0].prefixlen):
            best = (net, stack)
    return best[1][-1] if best else None


def _core_link_on_path(world: World, pe: str):
    """(router, interface) on the far side of the PE's first core link: packets leave the PE there."""
    for link in world.core_links:
        if link.a == pe:
            return link.b, link.a
        if link.b == pe:
            return link.a, link.b
    return None


def all_checks(testbed: str, record: dict) -> list[Verdict]:
    info = record["info"]
    vms = list(Ledger(testbed, "cloud").data.get("vms", {}).values())
    return (control_plane(testbed, info) + reachability(testbed, info, vms)
            + core_encapsulation(testbed, info, record["realizations"]))


def control_plane(testbed: str, info: dict) -> list[Verdict]:
    """Under control bgp, per provider router: its daemons running (pid file and namespace agree),
    every route `up` waited for still in its kernel FIB, every iBGP session Established."""
    control = World.of(info).control
    if control.realization != "bgp":
        return []
    live = sessions(testbed, control)
    missing = lacking(testbed, control, sorted(live))
    out = []
    for router, m in live.items():
        dead = [d for d, pid in m["daemons"].items() if pid is None]
        problems = ([f"not running: {', '.join(dead)}"] if dead else []) + missing.get(router, [])
        expected = control.sessions.get(router)
        if expected is None and not dead:
            # a tenant VRF's instance made at attach (not in the plan): every session it has is up, and it has one
            expected = list(m["peers"])
            problems += [f"session to {a} is {p.get('state')}" for a, p in m["peers"].items()
                         if p.get("state") != "Established"] or ([] if expected else ["no BGP session"])
        out.append(Verdict(f"control plane at {router}", "control", Status.FAIL if problems else Status.PASS,
                           "; ".join(problems) or f"{len(m['daemons'])} daemons running, "
                           f"{len(expected or [])} sessions Established, "
                           f"{len(control.routes.get(router, []))} routes in the kernel FIB"))
    return out
