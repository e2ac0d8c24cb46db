"""What every attack case uses: the testbed as data, frame injection, sniffers, state snapshots.

    Env             a running testbed: record, its world, VMs (the Cloud Manager's records), namespaces
    inject          send raw frames (crafted with scapy in this process) from an interface inside
                    a namespace: an AF_PACKET socket opened in a thread that entered the namespace
    Watch           tcpdump sniffers in many namespaces at once (`-i any`), counting matching packets
    snapshot/diff   neighbour tables, Linux bridge FDBs and OVS FDBs, diffed before/after

Marker packets: each case gives its IP packets an unusual total length (`ip[2:2] = N`), so a
sniffer counts only the attack's packets and the positive control uses another length.
"""
from __future__ import annotations

import json
import os
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from .. import naming, state
from ..errors import CloudnetError
from ..kernel import ns, ovs, sniff
from ..kernel import ping as kping
from ..kernel.exec import Popen, stop
from ..managers.ledger import Ledger
from ..verdict import Watch as VWatch
from ..world import World


@dataclass
class Env:
    testbed: str
    record: dict
    vms: dict = field(default_factory=dict)
    suspects: set = field(default_factory=set)      # MACs the attack used: removed from every table at the end
    _world: Optional[World] = field(default=None, repr=False)

    @classmethod
    def open(cls, testbed: Optional[str] = None) -> "Env":
        name = state.resolve(testbed)
        return cls(name, state.read(name), dict(Ledger(name, "cloud").data.get("vms", {})))

    @property
    def world(self) -> World:
        """The testbed's description (read-only for an attack: nothing here writes it back)."""
        if self._world is None:
            self._world = state.world(self.record)
        return self._world

    def netns(self, node: Optional[str]) -> Optional[str]:
        return None if node is None else naming.netns(self.testbed, node)

    def realization(self) -> str:
        """core/router/datapath, e.g. vxlan/netns/netdev or mpls/vrf/system."""
        r = self.record["realizations"]
        return f"{r.get('core')}/{r.get('router')}/{r.get('datapath')}"

    def control(self) -> str:
        """The provider's control plane as realized: static or bgp."""
        return (self.record.get("realizations") or {}).get("control") or self.world.control.realization

    def tenant_nodes(self, tenant: str) -> list[str]:
        """Every namespace that belongs to TENANT: hosts, CEs, VRF namespaces, VMs, logical CEs."""
        out = [n["name"] for n in self.record["nodes"] if n.get("tenant") == tenant]
        out += [vm["name"] for vm in self.vms.values() if vm["tenant"] == tenant]
        lces = [f"{vm['site']}.{vm['vpc']}" for vm in self.vms.values() if vm["tenant"] == tenant]
        out += [n for n in lces if ns.exists(self.netns(n))]
        return sorted(set(n for n in out if ns.exists(self.netns(n))))

    def hosts(self, tenant: str) -> dict[str, str]:
        """Enterprise hosts and VMs of TENANT: name -> address."""
        out = self.world.hosts(tenant)
        out.update({vm["name"]: vm["ip"] for vm in self.vms.values() if vm["tenant"] == tenant})
        return out

    def reload_vms(self):
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
        try:
            with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
                s.bind((iface, 0))
                n = 0
                for _ in range(count):
                    for f in raw:
                        s.send(f)
                        n += 1
                return n
        except OSError as e:
            raise SendError(f"cannot send from {iface} in {netns or 'the root namespace'}: {e}") from e
    return tx() if netns is None else ns.enter(netns, tx)


class SnifferError(CloudnetError):
    """A sniffer died or never became ready: the case cannot judge."""


class SendError(CloudnetError):
    """A crafted frame could not be sent (no such interface, a refused socket ...)."""


@dataclass
class Control:
    """How a watcher proves itself live: control packets matching BPF are captured by the SAME
    tcpdump as the packets under test (its filter is `(attack) or (control)`); a line is a control
    when it matches MARK (a regex on tcpdump -v output); BEACON(mac) gives frames of the control's
    shape that the watcher sends out of its own namespace before it stops (seen on the way out by
    `-i any`), so every watcher has a control even off the path of the end-to-end control."""
    bpf: str
    mark: str
    beacon: Optional[Callable[[str], list]] = None


class Watch:
    """tcpdump on every interface of each namespace (None: the root namespace needs an iface).

    Each sniffer gets its own readiness wait (tcpdump says "listening on" once its filter is
    attached); one that died or never became ready is an error naming it and its stderr, never a
    silent skip (`errors`).  With a CONTROL, `evidence()` gives each watcher's control count."""

    def __init__(self, places: dict[str, tuple[Optional[str], str]], bpf: str, inbound: bool = False,
                 control: Optional[Control] = None, ready_s: float = sniff.READY_S):
        self.places, self.bpf, self.ctl, self.ready_s = places, bpf, control, ready_s  # label -> (netns, iface)
        self.inbound = inbound                         # only what enters through the interface
        self.procs: dict[str, Popen] = {}
        self.lines: dict[str, list[str]] = {}
        self.controls: dict[str, int] = {}
        self.errors: list[str] = []
        self.gone: list[str] = []          # watchers whose namespace was removed during the watch
        self._stderr: dict[str, str] = {}

    def _argv(self, iface: str) -> list[str]:
        flt = f"({self.bpf}) or ({self.ctl.bpf})" if self.ctl else self.bpf
        return sniff.tcpdump_argv(iface, flt, verbose=bool(self.ctl), inbound=self.inbound)

    def __enter__(self) -> "Watch":
        self._ids = {label: _netns_id(netns) for label, (netns, _) in self.places.items()}
        for label, (netns, iface) in self.places.items():
            self.procs[label] = sniff.start(netns or None, self._argv(iface))
        try:
            for label, p in self.procs.items():
                self._ready(label, p)
        except BaseException:
            self._stop()
            raise
        time.sleep(0.05)
        return self

    def _ready(self, label: str, p: Popen) -> None:
        ready, said = sniff.wait_listening(p, self.ready_s)
        if not ready and p.returncode is not None:
            self.errors.append(f"sniffer at {label} died (exit {p.returncode}): {said or 'no output'}")
        elif not ready:
            self.errors.append(f"sniffer at {label} not ready after {self.ready_s:.0f} s: {said or 'no output'}")
        self._stderr[label] = said

    def beacon(self) -> None:
        """Each watcher's own control: the CONTROL's beacon frames out of an interface of its namespace."""
        if not (self.ctl and self.ctl.beacon):
            return
        for label, (netns, iface) in self.places.items():
            if self.replaced(label):
                self.gone.append(label)       # removed (or replaced, a migrated VM) during the watch
                continue
            dev = iface if iface != "any" else first_up_interface(netns)
            if dev is None:
                self.errors.append(f"sniffer at {label}: no interface up to send its control from")
                continue
            try:
                inject(netns, dev, self.ctl.beacon(mac_of(netns, dev)))
            except (SendError, LookupError) as e:
                self.errors.append(f"sniffer at {label}: its control could not be sent: {e}")

    def replaced(self, label: str) -> bool:
        """Was LABEL's namespace removed or replaced by another of the same name since the watch began?"""
        netns = self.places[label][0]
        return netns is not None and _netns_id(netns) != self._ids.get(label)

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                self.beacon()
            time.sleep(0.3)        # stragglers through the emulated links
        finally:
            self._stop()
        return False

    def _stop(self):
        mark = re.compile(self.ctl.mark) if self.ctl else None
        for label, p in self.procs.items():
            died = p.poll()
            out, err = stop(p)
            if died is not None and self.replaced(label):
                self.gone.append(label)   # its namespace was removed, and its processes killed, by the testbed
            elif died is not None and not any(e.startswith(f"sniffer at {label} ") for e in self.errors):
                self.errors.append(f"sniffer at {label} died during the watch (exit {died}): "
                                   f"{(self._stderr.get(label, '') + (err or '')).strip()[-300:] or 'no output'}")
            packets = sniff.packets(out)
            ctl = [line for line in packets if mark and mark.search(line)]
            self.controls[label] = len(ctl)
            self.lines[label] = [line for line in packets if not (mark and mark.search(line))]

    def counts(self) -> dict[str, int]:
        return {label: len(lines) for label, lines in self.lines.items()}

    def total(self) -> int:
        return sum(self.counts().values())

    def seen(self) -> dict[str, int]:
        return {k: v for k, v in self.counts().items() if v}

    def evidence(self) -> list[VWatch]:
        """Each watcher in the verdict model's terms: its control count and the packets under test."""
        return [VWatch(label, self.controls.get(label, 0) if self.ctl else -1, n) for label, n in self.counts().items()
                if label not in self.gone or n]


def _netns_id(netns: Optional[str]) -> Optional[int]:
    try:
        return None if netns is None else os.stat(os.path.join(ns.NETNS_DIR, netns)).st_ino
    except FileNotFoundError:
        return -1


def first_up_interface(netns: Optional[str]) -> Optional[str]:
    """The first interface that is up in NETNS, loopback and VRF masters excluded."""
    with ns.rtnl(netns) as ip:
        for link in sorted(ip.get_links(), key=lambda l: l["index"]):
            kind = (link.get_attr("IFLA_LINKINFO") or {})
            kind = kind.get_attr("IFLA_INFO_KIND") if kind else None
            if link["flags"] & 1 and link.get_attr("IFLA_IFNAME") != "lo" and kind not in ("vrf", "bridge"):
                return link.get_attr("IFLA_IFNAME")
    return None


def observe(result, *watches: "Watch"):
    """RESULT with the evidence and the errors of WATCHES added; returns it."""
    for w in watches:
        result.watched += [e for e in w.evidence() if e.control >= 0]
        result.errors += w.errors
    return result


def watch_nodes(env: Env, nodes: Iterable[str], bpf: str, control: Optional[Control] = None) -> Watch:
    return Watch({n: (env.netns(n), "any") for n in nodes}, bpf, control=control)


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
    names = {str(n): p for p, n in ovs_port_numbers(bridge).items()}
    return {f"fdb {row['mac']} vlan {row['vlan']}": names.get(row["port"], row["port"]) for row in ovs.fdb(bridge)}


def ovs_port_numbers(bridge: str) -> dict[str, int]:
    out = ns.run(["ovs-vsctl", "--format=json", "--columns=name,ofport", "list", "Interface"], check=False).stdout
    ports = set(ovs.ports(bridge))
    rows = json.loads(out or '{"data": []}')["data"]
    return {r[0]: r[1] for r in rows if r[0] in ports and isinstance(r[1], int)}


def testbed_namespaces(env: Env) -> list[Optional[str]]:
    """Every network namespace of the testbed (by its netns name)."""
    prefix = naming.netns(env.testbed, "")
    return sorted(n for n in ns.listing() if n.startswith(prefix))


def forget_macs(env: Env, macs: Iterable[str], nodes: Optional[Iterable[str]] = None) -> list[str]:
    """Remove every trace of MACS: neighbour entries naming one (in NODES, default every namespace
    of the testbed), non-permanent Linux bridge FDB entries, and the OVS MAC-learning entries of the
    testbed's bridges (`fdb/del` removes one MAC in one VLAN, so every VLAN it was learned in).
    Returns what was removed."""
    sus = {m.lower() for m in macs}
    if not sus:
        return []
    places = testbed_namespaces(env) + [None] if nodes is None else [env.netns(n) for n in nodes]
    removed = []
    for netns in places:
        if netns is not None and not ns.exists(netns):
            continue
        for n in json.loads(ns.run(["ip", "-j", "neigh", "show"], netns=netns, check=False).stdout or "[]"):
            if n.get("lladdr", "").lower() in sus:
                ns.run(["ip", "neigh", "del", n["dst"], "dev", n["dev"]], netns=netns, check=False)
                removed.append(f"{netns}: neigh {n['dst']} {n['lladdr']}")
        fdb = json.loads(ns.run(["bridge", "-j", "fdb", "show"], netns=netns, check=False).stdout or "[]")
        for f in fdb:
            if f.get("mac", "").lower() in sus and "permanent" not in f.get("state", "") and f.get("ifname"):
                argv = ["bridge", "fdb", "del", f["mac"], "dev", f["ifname"]] + \
                    (["master"] if f.get("master") else []) + (["vlan", str(f["vlan"])] if "vlan" in f else [])
                ns.run(argv, netns=netns, check=False)
                removed.append(f"{netns}: fdb {f['mac']} dev {f['ifname']}")
    if nodes is None:
        learned: dict[str, list[tuple[str, int]]] = {}
        for br in ovs.owned_bridges(env.testbed):
            for key in ovs_fdb(br):
                _, mac, _, vlan = key.split()
                if mac.lower() in sus:
                    learned.setdefault(mac, []).append((br, int(vlan)))
        for mac, places in learned.items():
            # a learned entry is not one `fdb/del` can remove (OVS 3.1): forget_mac makes it static first
            ovs.forget_mac(places, mac)
        after = {br: ovs_fdb(br) for br in {b for places in learned.values() for b, _ in places}}
        removed += [f"{br}: fdb {mac} vlan {vlan}" for mac, places in learned.items()
                    for br, vlan in places if f"fdb {mac} vlan {vlan}" not in after[br]]
    return removed


def traces(env: Env, macs: Iterable[str]) -> list[str]:
    """Neighbour entries naming one of MACS in any namespace of the testbed (what forget_macs removes)."""
    sus = {m.lower() for m in macs}
    out = []
    for netns in testbed_namespaces(env):
        for n in json.loads(ns.run(["ip", "-j", "neigh", "show"], netns=netns, check=False).stdout or "[]"):
            if n.get("lladdr", "").lower() in sus:
                out.append(f"{netns}: {n['dst']} lladdr {n['lladdr']} dev {n['dev']}")
    return out


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
        if kping.run(env.netns(node), dst, count=count, wait=2, size=size).returncode == 0:
            return True
    return False


def control(env: Env, nodes: Iterable[str], length: int, action: Callable[[], object]) -> int:
    """Positive control: packets of LENGTH seen at NODES while ACTION (a legitimate send) runs."""
    with watch_nodes(env, nodes, marker_bpf(length)) as w:
        action()
    if w.errors:
        raise SnifferError("; ".join(w.errors))
    return w.total()
