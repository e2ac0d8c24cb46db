"""What every attack case uses: the testbed as data, frame injection, sniffers, state snapshots.

    Env             a running testbed: record, info, VMs (the Cloud Manager's records), namespaces
    inject          send raw frames (crafted with scapy in this process) from an interface inside
                    a namespace: an AF_PACKET socket opened in a thread that entered the namespace
    Watch           tcpdump sniffers in many namespaces at once (`-i any`), counting matching packets
    snapshot/diff   neighbour tables, Linux bridge FDBs and OVS FDBs, diffed before/after

Marker packets: each case gives its IP packets an unusual total length (`ip[2:2] = N`), so a
sniffer counts only the attack's packets and the positive control uses another length.
"""
from __future__ import annotations

import json
import socket
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from .. import naming, state
from ..kernel import ns, ovs


@dataclass
class Env:
    testbed: str
    record: dict
    vms: dict = field(default_factory=dict)

    @classmethod
    def open(cls, testbed: Optional[str] = None) -> "Env":
        from ..managers.ledger import Ledger
        name = state.resolve(testbed)
        return cls(name, state.read(name), dict(Ledger(name, "cloud").data.get("vms", {})))

    @property
    def info(self) -> dict:
        return self.record["info"]

    def netns(self, node: Optional[str]) -> Optional[str]:
        return None if node is None else naming.netns(self.testbed, node)

    def realization(self) -> str:
        """core/router/datapath, e.g. vxlan/netns/netdev or mpls/vrf/system."""
        r = self.record["realizations"]
        return f"{r.get('core')}/{r.get('router')}/{r.get('datapath')}"

    def tenant_nodes(self, tenant: str) -> list[str]:
        """Every namespace that belongs to TENANT: hosts, CEs, VRF namespaces, VMs, logical CEs."""
        out = [n["name"] for n in self.record["nodes"] if n.get("tenant") == tenant]
        out += [vm["name"] for vm in self.vms.values() if vm["tenant"] == tenant]
        lces = [f"{vm['site']}.{vm['vpc']}" for vm in self.vms.values() if vm["tenant"] == tenant]
        out += [n for n in lces if ns.exists(self.netns(n))]
        return sorted(set(n for n in out if ns.exists(self.netns(n))))

    def hosts(self, tenant: str) -> dict[str, str]:
        """Enterprise hosts and VMs of TENANT: name -> address."""
        out = {h: ip for meta in self.info.get("sites", {}).values() if meta["tenant"] == tenant
               for h, ip in meta["hosts"].items()}
        out.update({vm["name"]: vm["ip"] for vm in self.vms.values() if vm["tenant"] == tenant})
        return out

    def reload_vms(self):
        from ..managers.ledger import Ledger
        self.vms = dict(Ledger(self.testbed, "cloud").data.get("vms", {}))


def mac_of(netns: Optional[str], dev: str) -> str:
    with ns.rtnl(netns) as ip:
        idx = ip.link_lookup(ifname=dev)
        if not idx:
            raise LookupError(f"no interface {dev} in {netns or 'the root namespace'}")
        return ip.get_links(idx[0])[0].get_attr("IFLA_ADDRESS")


def inject(netns: Optional[str], iface: str, frames: Iterable, count: int = 1) -> int:
    """Send FRAMES (scapy packets or bytes) COUNT times each out of IFACE in NETNS; the number sent."""
    raw = [bytes(f) for f in frames]

    def tx():
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
            s.bind((iface, 0))
            n = 0
            for _ in range(count):
                for f in raw:
                    s.send(f)
                    n += 1
            return n
    return tx() if netns is None else ns.enter(netns, tx)


class Watch:
    """tcpdump on every interface of each namespace (None: the root namespace needs an iface)."""

    def __init__(self, places: dict[str, tuple[Optional[str], str]], bpf: str, inbound: bool = False):
        self.places, self.bpf = places, bpf           # label -> (netns, iface)
        self.extra = ["-Q", "in"] if inbound else []  # only what enters through the interface
        self.procs: dict[str, subprocess.Popen] = {}
        self.lines: dict[str, list[str]] = {}

    def __enter__(self) -> "Watch":
        for label, (netns, iface) in self.places.items():
            argv = (["ip", "netns", "exec", netns] if netns else []) + \
                ["tcpdump", "-l", "-nn", "-e", "-i", iface, "--immediate-mode", "-U"] + self.extra + [self.bpf]
            self.procs[label] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # tcpdump says "listening on" on stderr once its filter is attached
        deadline = time.monotonic() + 5
        for p in self.procs.values():
            while time.monotonic() < deadline:
                line = p.stderr.readline()
                if "listening on" in line or not line:
                    break
        time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        time.sleep(0.3)        # stragglers through the emulated links
        for label, p in self.procs.items():
            p.terminate()
            out, _ = p.communicate(timeout=10)
            self.lines[label] = [line for line in out.splitlines() if line.strip()]
        return False

    def counts(self) -> dict[str, int]:
        return {label: len(lines) for label, lines in self.lines.items()}

    def total(self) -> int:
        return sum(self.counts().values())

    def seen(self) -> dict[str, int]:
        return {k: v for k, v in self.counts().items() if v}


def watch_nodes(env: Env, nodes: Iterable[str], bpf: str) -> Watch:
    return Watch({n: (env.netns(n), "any") for n in nodes}, bpf)


def marker_bpf(length: int, tagged: bool = False) -> str:
    """IP packets of total length LENGTH; TAGGED: inside one 802.1Q tag (a trunk).  The two cannot
    be or-ed: `vlan` shifts the offsets of everything after it (and -i any has no tags)."""
    return f"{'vlan and ' if tagged else ''}ip and ip[2:2] = {length}"


# --- state snapshots -----------------------------------------------------------------------
def snapshot(env: Env, nodes: Iterable[str], ovs_bridges: Iterable[str] = ()) -> dict[str, dict[str, str]]:
    """place -> {key: mac}: neighbours (ip -> lladdr), bridge FDB (mac@dev) and OVS FDB (mac@vlan -> port)."""
    snap: dict[str, dict[str, str]] = {}
    for node in nodes:
        netns = env.netns(node)
        neigh = json.loads(ns.run(["ip", "-j", "neigh", "show"], netns=netns).stdout or "[]")
        entries = {f"neigh {n['dst']}": n.get("lladdr", "") for n in neigh if n.get("lladdr")}
        fdb = json.loads(ns.run(["bridge", "-j", "fdb", "show"], netns=netns, check=False).stdout or "[]")
        entries.update({f"fdb {f['mac']} vlan {f.get('vlan', '-')}": f.get("ifname", "") for f in fdb
                        if "permanent" not in f.get("state", "") and f.get("mac")})
        snap[node] = entries
    for br in ovs_bridges:
        snap[br] = ovs_fdb(br)
    return snap


def ovs_fdb(bridge: str) -> dict[str, str]:
    """OVS MAC table of BRIDGE: 'fdb MAC vlan V' -> port name."""
    out = ns.run(["ovs-appctl", "fdb/show", bridge], check=False).stdout
    names = {str(n): p for p, n in ovs_port_numbers(bridge).items()}
    table = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 3:
            table[f"fdb {parts[2]} vlan {parts[1]}"] = names.get(parts[0], parts[0])
    return table


def ovs_port_numbers(bridge: str) -> dict[str, int]:
    out = ns.run(["ovs-vsctl", "--format=json", "--columns=name,ofport", "list", "Interface"], check=False).stdout
    ports = set(ovs.ports(bridge))
    rows = json.loads(out or '{"data": []}')["data"]
    return {r[0]: r[1] for r in rows if r[0] in ports and isinstance(r[1], int)}


def diff(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]],
         suspects: Iterable[str] = ()) -> list[str]:
    """State changes an attack may have caused: an entry whose value changed, or any entry that
    names a suspect (an attacker's MAC); new legitimate entries (traffic of the controls) are not."""
    sus = {s.lower() for s in suspects}
    out = []
    for place in sorted(set(before) | set(after)):
        b, a = before.get(place, {}), after.get(place, {})
        for key in sorted(set(b) | set(a)):
            old, new = b.get(key), a.get(key)
            if old == new:
                continue
            if old is not None and new is not None:
                out.append(f"{place}: {key} {old} -> {new}")
            elif any(s in key.lower() or s in str(new).lower() for s in sus) and new is not None:
                out.append(f"{place}: new {key} = {new}")
    return out


def ping(env: Env, node: str, dst: str, size: int, count: int = 2, tries: int = 3) -> bool:
    """iputils ping from NODE; SIZE is the ICMP payload (IP total length SIZE + 28).  Retried: the
    first packets of a cold path wait for ARP at every hop (slow under emulation, as in the VM tier)."""
    for _ in range(tries):
        res = ns.run(["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "2", "-s", str(size), dst],
                     netns=env.netns(node), check=False)
        if res.returncode == 0:
            return True
    return False


def control(env: Env, nodes: Iterable[str], length: int, action: Callable[[], object]) -> int:
    """Positive control: packets of LENGTH seen at NODES while ACTION (a legitimate send) runs."""
    with watch_nodes(env, nodes, marker_bpf(length)) as w:
        action()
    return w.total()
