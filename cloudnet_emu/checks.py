"""Checks on a running testbed, with real traffic: reachability, isolation, encapsulation.

Each check returns a CheckResult (name, expected, observed, passed, detail).  Pings
run in parallel (iputils ping inside the source namespace); captures use tcpdump
inside the namespace of the router whose link is watched.
"""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

from . import naming


@dataclass
class CheckResult:
    name: str
    expect: str        # "reach" | "isolated" | "encap"
    passed: bool
    detail: str = ""


def _ping_argv(testbed: str, src: str, dst: str, count: int = 2, wait: float = 1.0, size: int = 56) -> list[str]:
    return ["ip", "netns", "exec", naming.netns(testbed, src), "ping", "-n", "-q", "-c", str(count),
            "-i", "0.2", "-W", str(wait), "-s", str(size), dst]


def pings(testbed: str, pairs: list[tuple[str, str]], count: int = 2, size: int = 56) -> dict[tuple[str, str], bool]:
    """Ping all (src node, dst address) pairs in parallel; True where a reply came back."""
    procs = {pair: subprocess.Popen(_ping_argv(testbed, *pair, count=count, size=size), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL) for pair in pairs}
    return {pair: p.wait(timeout=30) == 0 for pair, p in procs.items()}


def endpoints(info: dict, vms: list[dict]) -> list[tuple[str, str, str, str]]:
    """(place, node, address, tenant) of every enterprise host and VM."""
    hosts = [(site, name, ip, meta["tenant"]) for site, meta in info.get("sites", {}).items()
             for name, ip in meta["hosts"].items()]
    return hosts + [(f"{vm['site']}/{vm['vpc']}", vm["name"], vm["ip"], vm["tenant"]) for vm in vms]


def reachability(testbed: str, info: dict, vms: list[dict] = ()) -> list[CheckResult]:
    """Same-tenant sites and VMs reach each other; other tenants' and the Internet's view is empty."""
    sites = info.get("sites", {})
    hosts = endpoints(info, list(vms))
    reach, isolated = [], []
    for s1, h1, _, t1 in hosts:
        for s2, h2, ip2, t2 in hosts:
            if s1 == s2:
                continue
            if t1 == t2:
                reach.append((h1, ip2, f"{h1} -> {h2} ({ip2})"))
            elif ip2 not in {ip for s, _, ip, t in hosts if t == t1}:
                # only addresses the source tenant does not also use prove isolation by ping
                isolated.append((h1, ip2, f"{h1} -> {h2} ({ip2}, tenant {t2})"))
        for s2, meta in sites.items():
            if meta["tenant"] != t1 and s2 != s1:
                isolated.append((h1, meta["access"]["ce"].split("/")[0],
                                  f"{h1} -> CE {s2} ({meta['access']['ce'].split('/')[0]}, tenant {meta['tenant']})"))
    inet = info.get("internet")
    if inet:
        for site, name, ip, tenant in hosts:
            isolated.append((inet["node"], ip, f"{inet['node']} -> {name} ({ip}, tenant {tenant})"))
    results = pings(testbed, [(s, d) for s, d, _ in reach + isolated])
    out = [CheckResult(label, "reach", results[(s, d)], "reply" if results[(s, d)] else "no reply")
           for s, d, label in reach]
    out += [CheckResult(label, "isolated", not results[(s, d)], "no reply" if not results[(s, d)] else "REPLY")
            for s, d, label in isolated]
    return out


def overlap_isolation(testbed: str, info: dict) -> list[CheckResult]:
    """Tenants with identical addresses: a ping to a shared address stays in the source tenant.

    For each pair of tenants, an address both use: a host of the source tenant in
    another site pings it (and must get its reply), while a capture at the other
    tenant's host with that address must stay empty."""
    sites = info.get("sites", {})
    owners: dict[str, list[tuple[str, str, str]]] = {}      # ip -> [(tenant, site, host)]
    for site, meta in sites.items():
        for host, ip in meta["hosts"].items():
            owners.setdefault(ip, []).append((meta["tenant"], site, host))
    out, done = [], set()
    for ip, users in sorted(owners.items()):
        for t1, s1, _ in users:
            for t2, _, victim in users:
                if t1 == t2 or (t1, t2) in done:
                    continue
                src = next((h for s, m in sites.items() if m["tenant"] == t1 and s != s1 for h in m["hosts"]), None)
                if src is None:
                    continue
                done.add((t1, t2))
                # An unusual size marks this probe's packets apart from any other traffic.
                size = 1111
                seen = capture_count(testbed, victim, "eth0", f"icmp and ip[2:2] = {size + 28}",
                                     lambda: pings(testbed, [(src, ip)], count=3, size=size))
                replied = seen["result"][(src, ip)]
                out.append(CheckResult(f"{src} -> {ip} stays in {t1} (nothing reaches {victim} of {t2})",
                                       "isolated", replied and seen["count"] == 0,
                                       f"reply {'yes' if replied else 'NO'}, {seen['count']} packet(s) at {victim}"))
    return out


def capture_count(testbed: str, node: str, iface: str, bpf: str, action, settle: float = 0.3) -> dict:
    """Count packets matching bpf on node:iface while action() runs."""
    argv = ["ip", "netns", "exec", naming.netns(testbed, node), "tcpdump", "-l", "-nn", "-q", "-i", iface,
            "--immediate-mode", bpf]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(settle)
    try:
        result = action()
        time.sleep(0.2)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    return {"count": len([l for l in out.splitlines() if l.strip()]), "result": result, "lines": out.splitlines()}


def capture_text(netns, iface: str, bpf: str, action, count: int = 4, timeout: float = 5) -> str:
    """Decoded packets (tcpdump -e -v, one line per packet) on netns:iface while action() runs."""
    argv = (["ip", "netns", "exec", netns] if netns else []) + \
        ["tcpdump", "-l", "-nn", "-e", "-v", "-c", str(count), "-i", iface, "--immediate-mode", bpf]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(0.3)
    try:
        action()
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return " ".join(out.split())


def core_encapsulation(testbed: str, info: dict, realizations: dict) -> list[CheckResult]:
    """A capture on a core link shows the encapsulation `doctor` announced, with the VPN's id."""
    sites = info.get("sites", {})
    vpn = info.get("vpn", {})
    for tenant, meta in vpn.items():
        tsites = [s for s, m in sites.items() if m["tenant"] == tenant and m["hosts"]]
        pes = {sites[s]["pe"] for s in tsites}
        if len(pes) < 2:
            continue
        a = tsites[0]
        b = next(s for s in tsites if sites[s]["pe"] != sites[a]["pe"])
        src = next(iter(sites[a]["hosts"]))
        dst_ip = next(iter(sites[b]["hosts"].values()))
        link = _core_link_on_path(info, sites[a]["pe"])
        if link is None:
            continue
        router, iface = link
        core = realizations["core"]
        bpf = "mpls" if core == "mpls" else "udp port 4789"
        text = capture_text(naming.netns(testbed, router), iface, bpf, lambda: pings(testbed, [(src, dst_ip)], count=3),
                            count=2)
        if core == "mpls":
            labels = meta.get("vpn_labels", {})
            want = str(labels.get(sites[b]["pe"], "?"))
            ok = "MPLS" in text and f"label {want}" in text
            what = f"MPLS label stack with VPN label {want}"
        else:
            want = str(meta.get("vni"))
            ok = f"vni {want}" in text
            what = f"VXLAN with VNI {want}"
        return [CheckResult(f"capture {router}:{iface} shows {what} for {src} -> {dst_ip}", "encap", ok,
                            text[:400] or "nothing captured")]
    return []


def _core_link_on_path(info: dict, pe: str):
    """(router, interface) on the far side of the PE's first core link: packets leave the PE there."""
    for link in info.get("core_links", []):
        if link["a"] == pe:
            return link["b"], link["a"]
        if link["b"] == pe:
            return link["a"], link["b"]
    return None


def all_checks(testbed: str, record: dict) -> list[CheckResult]:
    from .managers.ledger import Ledger
    info = record["info"]
    vms = list(Ledger(testbed, "cloud").data.get("vms", {}).values())
    return (reachability(testbed, info, vms) + overlap_isolation(testbed, info)
            + core_encapsulation(testbed, info, record["realizations"]))
