"""Cases 4 and 5: tenants with the same address plan, and VRF tables that must not fall through.

    overlap          for every pair of tenants sharing an address, a host of the first pings it from
                     another site (the reply is the control: the packet did travel) while sniffers in
                     every namespace of the second see nothing; a spoofed source (an address only the
                     other tenant uses) stays in the sender's VPN: seen at its own target, not elsewhere
    vrf_fallthrough  in every tenant VRF (device or namespace), route lookups of the other tenants'
                     own prefixes, the Internet and the provider's loopbacks fail; the control: the
                     tenant's own remote prefix resolves
"""
from __future__ import annotations

import ipaddress

from scapy.layers.l2 import Ether

from ..kernel import ns
from ..verdict import Sent
from ..world import Vrf
from .packets import marker_control, marker_ip
from .result import Result, merge, skipped
from .tools import Env, Watch, inject, mac_of, marker_bpf, observe, ping, watch_nodes

LEN, SPOOF_LEN = 1263, 1265


def overlap(env: Env) -> Result:
    sites = env.world.sites
    owners: dict[str, dict[str, tuple[str, str]]] = {}      # ip -> tenant -> (site, host)
    for site, meta in sites.items():
        for host, ip in meta.hosts.items():
            owners.setdefault(ip, {})[meta.tenant] = (site, host)
    parts = []
    for ip, by_tenant in sorted(owners.items()):
        if len(by_tenant) < 2:
            continue
        for t1, (s1, target) in sorted(by_tenant.items()):
            src = next((h for s, m in sorted(sites.items()) if m.tenant == t1 and s != s1
                        for h in sorted(m.hosts)), None)
            if src is None:
                continue
            others = sorted({n for t in by_tenant if t != t1 for n in env.tenant_nodes(t)})
            # the control, counted: the echo requests that left the sender, and those that reached
            # the sender's own tenant's holder of the shared address
            request = f"ip[2:2] = {LEN} and icmp[icmptype] = icmp-echo"
            ends = Watch({src: (env.netns(src), "any"), target: (env.netns(target), "any")}, request)
            with watch_nodes(env, others, marker_bpf(LEN), marker_control(LEN + 10)) as w, ends:
                replied = ping(env, src, ip, LEN - 28, count=3)
            out, arrived = ends.counts()[src], ends.counts()[target]
            parts.append(observe(Result(
                "overlap", "", sent=out, leaked=w.total(), control=arrived,
                sent_by=[Sent(src, f"ICMP echo to {ip} (of {t1})", out)],
                errors=list(ends.errors),
                notes=[f"{src} ({t1}) -> {ip}: {out} requests sent, {arrived} arrived at {target}, "
                       f"reply {'yes' if replied else 'NO'}, seen in other tenants: {w.seen() or 'nothing'}"]), w))
        break                   # one shared address per pair of tenants is enough
    parts += [_spoofed_source(env, t) for t in env.world.tenants]
    parts = [p for p in parts if p is not None]
    if not parts:
        return skipped("overlap", env.realization(), "no two tenants share an address and no tenant has two "
                       "sites with hosts")
    return merge("overlap", env.realization(), parts)


def _spoofed_source(env: Env, tenant: str):
    """A host of TENANT sends from an address only another tenant uses, to a host of its own tenant."""
    mine = env.hosts(tenant)
    theirs = {ip for t in env.world.tenants if t != tenant for ip in env.hosts(t).values()} - set(mine.values())
    sites = [(s, m) for s, m in sorted(env.world.tenant_sites(tenant).items()) if m.hosts]
    if not theirs or len(sites) < 2:
        return None
    (s1, m1), (_, m2) = sites[0], sites[1]
    sender = next(iter(sorted(m1.hosts)))
    target, target_ip = next(iter(sorted(m2.hosts.items())))
    frame = Ether(src=mac_of(env.netns(sender), "eth0"), dst=mac_of(env.netns(s1), "lan")) / \
        marker_ip(sorted(theirs)[0], target_ip, SPOOF_LEN)
    others = sorted({n for t in env.world.tenants if t != tenant for n in env.tenant_nodes(t)})
    with watch_nodes(env, others, marker_bpf(SPOOF_LEN), marker_control(SPOOF_LEN + 10)) as w, \
            watch_nodes(env, [target], marker_bpf(SPOOF_LEN)) as own:
        sent = inject(env.netns(sender), "eth0", [frame], count=3)
    return observe(Result("overlap", "", sent=sent, leaked=w.total(), control=own.total(),
                          sent_by=[Sent(f"{sender}:eth0", f"IP from {sorted(theirs)[0]} (spoofed)", sent)],
                          errors=list(own.errors),
                          notes=[f"{sender} as {sorted(theirs)[0]} -> {target}: at {target} {own.total()}, "
                                 f"in other tenants {w.seen() or 'nothing'}"]), w)


def _lookup(env: Env, vrf: Vrf, dst: str) -> bool:
    argv = ["ip", "-j", "route", "get", dst] + (["vrf", vrf.master] if vrf.master else [])
    return ns.run(argv, netns=env.netns(vrf.node), check=False).returncode == 0


def vrf_fallthrough(env: Env) -> Result:
    world = env.world
    prefixes: dict[str, set] = {t: set() for t in world.tenants}
    for meta in world.sites.values():
        prefixes[meta.tenant].add(meta.subnet)
    for vpc in world.vpcs.values():
        prefixes[vpc.tenant].add(vpc.subnet)
    foreign = [world.internet.address] if world.internet else []
    foreign += list(world.loopbacks.values())
    parts = []
    for key, vrf in sorted(world.vrfs.items()):
        t = vrf.tenant
        own = [ipaddress.ip_network(p) for p in prefixes[t]]
        targets = [p for o, ps in prefixes.items() if o != t for p in ps
                   if not any(ipaddress.ip_network(p).overlaps(n) for n in own)] + foreign
        addrs = [str(ipaddress.ip_network(p, strict=False)[1 if ipaddress.ip_network(p, strict=False).prefixlen < 32
                                                            else 0]) for p in targets]
        leaked = [a for a in addrs if _lookup(env, vrf, a)]
        remote = [m.subnet for m in world.tenant_sites(t).values() if m.pe != vrf.pe]
        remote = remote or [m.subnet for m in world.tenant_sites(t).values()]
        ok = sum(_lookup(env, vrf, str(ipaddress.ip_network(p)[1])) for p in remote[:1])
        parts.append(Result("vrf_fallthrough", "", sent=len(addrs), leaked=len(leaked), control=ok,
                            leaks=[f"{key} resolves {a}" for a in leaked],
                            sent_by=[Sent(key, "route lookups of foreign prefixes", len(addrs))],
                            notes=[f"{key}: {len(addrs)} foreign lookups, resolved: {leaked or 'none'}"
                                   + ("" if ok else f"; CONTROL: its own remote prefix {remote[:1]} did not resolve")]))
    if not parts:
        return skipped("vrf_fallthrough", env.realization(), "no tenant VRF in this testbed")
    return merge("vrf_fallthrough", env.realization(), parts)
