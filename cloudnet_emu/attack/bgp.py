"""Case 10: nobody outside the provider speaks BGP to a PE (control=bgp).

From every outsider that can reach a PE -- each enterprise site's CE, each cloud site's CE
router, the Internet node (it shares pe1's global table) and every VM (the attack's own
included) -- a TCP connection to port 179 of every provider address: the PE interface facing
it, every router loopback and core-link address, and the transit addresses of the tenant's
VRFs (the VRFs' own bgpd listens there; a VM tries every VRF of its tenant, read from the
running instances, and its gateway).  Where the connection opens, a real BGP OPEN (the provider's AS, the attacker's address
as its identifier); where the router answers with its own OPEN, a KEEPALIVE and an UPDATE
announcing MARKER, and keepalives while the routers are read.

Evidence, read while every attacker connection is still open (a session that reached
Established would drop with it): every FRR instance of the testbed (provider routers and tenant
VRFs) -- `show bgp neighbors json` (no session from an attacker address Established), `show bgp
ipv4 unicast json` and `ip -j route` in its namespace (MARKER in neither).  A router that
answers an outsider's OPEN with its own is a leak too.  Each instance's control is its
legitimate sessions Established in the same read: a read that saw none proves nothing.
"""
from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Optional

from .. import naming, state
from ..kernel import frr as kfrr
from ..kernel import ipjson
from ..kernel import ns
from ..verdict import Sent
from ..verdict import Watch as VWatch
from .result import Result, failed, skipped

CASE = "bgp_session"
PORT = 179
MARKER = "203.0.113.0/24"          # TEST-NET-3: in no plan, so any trace of it is the attack's
CONNECT_S = 1.5
ANSWER_S = 2.0
HOLD_S = 30                        # the attacker's keepalives (1 s) keep a session up while we read


# --- BGP messages (RFC 4271), as bytes: nothing here needs more than the fixed formats ---

def _msg(kind: int, body: bytes = b"") -> bytes:
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), kind) + body


def bgp_open(asn: int, ident: str, hold: int = HOLD_S) -> bytes:
    return _msg(1, struct.pack("!BHH4sB", 4, asn & 0xFFFF, hold, socket.inet_aton(ident), 0))


def bgp_keepalive() -> bytes:
    return _msg(4)


def bgp_update(prefix: str, next_hop: str) -> bytes:
    """An iBGP UPDATE announcing PREFIX via NEXT_HOP (ORIGIN IGP, empty AS_PATH, LOCAL_PREF 100)."""
    net = ipaddress.ip_network(prefix)
    attrs = (bytes([0x40, 1, 1, 0]) + bytes([0x40, 2, 0])
             + bytes([0x40, 3, 4]) + socket.inet_aton(next_hop) + bytes([0x40, 5, 4]) + struct.pack("!I", 100))
    nlri = bytes([net.prefixlen]) + net.network_address.packed[:(net.prefixlen + 7) // 8]
    return _msg(2, struct.pack("!H", 0) + struct.pack("!H", len(attrs)) + attrs + nlri)


def message_type(data: bytes) -> Optional[int]:
    """The type of the first BGP message in DATA (1 OPEN, 2 UPDATE, 3 NOTIFICATION, 4 KEEPALIVE)."""
    if len(data) < 19 or data[:16] != b"\xff" * 16:
        return None
    return data[18]


# --- the attempts ---

@dataclass
class Attempt:
    src: str                    # attacker node
    dst: str                    # provider address
    outcome: str = ""           # refused | no answer | closed | rejected (NOTIFICATION) | open answered | ...
    local: str = ""             # the attacker's address as the router saw it
    error: str = ""             # the attempt could not be made
    sent: int = 0               # SYNs and BGP messages sent

    @property
    def accepted(self) -> bool:
        return self.outcome.startswith("open answered")


@dataclass
class Attack:
    """Attempts in flight: each holds its connection open (with keepalives) until `stop`."""
    attempts: list
    stop: threading.Event = field(default_factory=threading.Event)
    ready: list = field(default_factory=list)


def _attempt(a: Attempt, asn: int, stop: threading.Event, ready: threading.Event) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(CONNECT_S)
        a.sent += 1
        try:
            s.connect((a.dst, PORT))
        except ConnectionRefusedError:
            a.outcome = "refused"
            return
        except (socket.timeout, TimeoutError):
            a.outcome = "no answer"
            return
        except OSError as e:
            if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
                a.outcome = "unreachable (ICMP)"       # the SYN left; the provider said no route
            else:
                a.error = f"connect: {e}"
            return
        a.local = s.getsockname()[0]
        s.settimeout(ANSWER_S)
        try:
            s.sendall(bgp_open(asn, a.local))
            a.sent += 1
            data = s.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            a.outcome = "closed by the router"
            return
        except (socket.timeout, TimeoutError):
            a.outcome = "connected, no answer to OPEN"
            return
        kind = message_type(data)
        if not data:
            a.outcome = "closed by the router"
            return
        if kind != 1:
            a.outcome = "rejected (NOTIFICATION)" if kind == 3 else f"answered with BGP type {kind}"
            return
        a.outcome = "open answered"
        try:
            s.sendall(bgp_keepalive())
            s.sendall(bgp_update(MARKER, a.local))
            a.sent += 2
            a.outcome = "open answered, UPDATE sent"
            ready.set()
            while not stop.wait(1.0):
                s.sendall(bgp_keepalive())
        except OSError as e:
            a.outcome += f", then dropped ({e.strerror or e})"
    finally:
        ready.set()
        s.close()


def launch(env, targets: dict[str, list[str]], asn: int) -> tuple[Attack, ThreadPoolExecutor]:
    """Every (source, address) attempt at once, each from a thread inside the source's namespace."""
    attempts = [Attempt(src, dst) for src, dsts in sorted(targets.items()) for dst in dsts]
    atk = Attack(attempts, ready=[threading.Event() for _ in attempts])
    pool = ThreadPoolExecutor(max_workers=max(1, len(attempts)))

    def one(i: int):
        a = attempts[i]
        netns = env.netns(a.src)
        if not ns.exists(netns):
            a.error = f"no namespace {netns}"
            atk.ready[i].set()
            return
        try:
            ns.enter(netns, lambda: _attempt(a, asn, atk.stop, atk.ready[i]))
        except OSError as e:
            a.error = f"{type(e).__name__}: {e}"
            atk.ready[i].set()
    for i in range(len(attempts)):
        pool.submit(one, i)
    return atk, pool


# --- the targets ---

def _bare(a: str) -> str:
    return a.split("/")[0]


def _other_end(a: str) -> str:
    """The other host of a point-to-point subnet (a/30 or a/31)."""
    iface = ipaddress.ip_interface(a)
    return str(next(h for h in iface.network.hosts() if h != iface.ip))


def targets(world, vms: dict = None, transits: dict = None) -> dict[str, list[str]]:
    """Outsider node -> the provider addresses it tries: the PE side of its own link, the tenant
    VRF's transit address on that PE (sites), every loopback and core-link address.  VMS (the
    Cloud Manager's records) try their gateway and TRANSITS[tenant] (every transit address of
    the tenant's running VRFs) besides."""
    provider = set(_bare(a) for a in (world.loopbacks or {}).values())
    for link in world.core_links:
        provider |= {_bare(link.a_addr), _bare(link.b_addr)}
    out = {}
    for name, site in world.sites.items():
        own = {_bare(site.access["pe"])}
        vpn = world.vpn.get(site.tenant)
        transit = (vpn.transit or {}).get(site.pe) if vpn else None
        if transit:
            own.add(_bare(transit))     # the tenant VRF's own bgpd listens on its transit address
        out[name] = sorted(own | provider, key=ipaddress.ip_address)
    for cloud in world.clouds.values():
        out[cloud.ce] = sorted({_other_end(cloud.wan)} | provider, key=ipaddress.ip_address)
    if world.internet:
        out[world.internet.node] = sorted({_other_end(world.internet.address)} | provider,
                                          key=ipaddress.ip_address)
    for name, v in sorted((vms or {}).items()):
        own = set((transits or {}).get(v["tenant"], ())) | ({v["gateway"]} if v.get("gateway") else set())
        out[name] = sorted(own | provider, key=ipaddress.ip_address)
    return out


def vrf_transits(testbed: str, names: list[str]) -> dict[str, list[str]]:
    """tenant -> the transit addresses of its running VRF instances (<pe>.<tenant>: the address
    of its vx-<tenant> device, where its bgpd listens)."""
    out: dict[str, list[str]] = {}
    for name in names:
        if "." not in name:
            continue
        tenant = name.split(".", 1)[1]
        res = ns.run(["ip", "-j", "-4", "addr", "show", "dev", naming.vxlan_dev(tenant)],
                     netns=naming.netns(testbed, name), check=False)
        rows = ipjson.loads(res.stdout) if res.returncode == 0 else []
        out.setdefault(tenant, []).extend(a["local"] for r in rows for a in r.get("addr_info", []) if a.get("local"))
    return out


# --- the reads and the verdict (pure) ---

def read_instance(testbed: str, name: str) -> dict:
    """One FRR instance as the verdict needs it (None where a read did not answer)."""
    directory = state.daemon_dir(testbed, name)
    neighbors = kfrr.vtysh(directory, "show bgp neighbors json")
    table = kfrr.vtysh(directory, "show bgp ipv4 unicast json")
    res = ns.run(["ip", "-j", "route", "show"], netns=naming.netns(testbed, name), check=False)
    try:
        fib = [r.get("dst") for r in ipjson.loads(res.stdout)] if res.returncode == 0 else None
    except ValueError:
        fib = None
    return {"neighbors": neighbors, "routes": (table or {}).get("routes") if table is not None else None,
            "fib": fib}


def instances(testbed: str) -> list[str]:
    """Every FRR instance of the testbed (provider routers, tenant VRFs <pe>.<tenant>)."""
    try:
        return sorted(os.listdir(state.daemon_dir(testbed)))
    except FileNotFoundError:
        return []


def _same_prefix(dst: Optional[str], prefix: str) -> bool:
    if not dst or dst == "default":
        return False
    try:
        return ipaddress.ip_network(dst if "/" in dst else dst + "/32", strict=False) == ipaddress.ip_network(prefix)
    except ValueError:
        return False


def judge(reads: dict[str, dict], attackers: set[str], marker: str = MARKER) -> tuple[list, list, list]:
    """From each instance's read: (watchers, leaks, errors).  A watcher's control is its
    legitimate sessions Established; its hits, attacker sessions Established and MARKER in its
    BGP table or kernel FIB.  A read that did not answer is an error naming the instance."""
    watched, leaks, errors = [], [], []
    for name, r in sorted(reads.items()):
        missing = [k for k in ("neighbors", "routes", "fib") if r.get(k) is None]
        if missing:
            errors.append(f"{name}: no answer to the read of its {', '.join(missing)}")
            continue
        legit = hits = 0
        for addr, peer in r["neighbors"].items():
            if not isinstance(peer, dict):
                continue
            established = peer.get("bgpState") == "Established"
            if addr in attackers:
                if established:
                    hits += 1
                    leaks.append(f"{name}: BGP session with attacker {addr} Established")
            elif established:
                legit += 1
        if any(_same_prefix(p, marker) for p in r["routes"]):
            hits += 1
            leaks.append(f"{name}: {marker} in its BGP table")
        if any(_same_prefix(d, marker) for d in r["fib"]):
            hits += 1
            leaks.append(f"{name}: {marker} in its kernel FIB")
        watched.append(VWatch(name, legit, hits))
    return watched, leaks, errors


def result(attempts: list[Attempt], reads: dict[str, dict], realization: str) -> Result:
    """The case's Result from the attempts and the reads (pure: unit-tested)."""
    attackers = {a.local for a in attempts if a.local}
    watched, leaks, errors = judge(reads, attackers)
    accepted = [a for a in attempts if a.accepted]
    leaks = [f"{a.dst} answered the OPEN of {a.src} ({a.local})" for a in accepted] + leaks
    errors = [f"attempt {a.src} -> {a.dst}:{PORT}: {a.error}" for a in attempts if a.error] + errors
    if not reads:
        errors.append("no FRR instance to read")
    by_src: dict[str, list[Attempt]] = {}
    for a in attempts:
        by_src.setdefault(a.src, []).append(a)
    sent_by = [Sent(src, f"TCP {PORT} + BGP OPEN to {len(ats)} provider address(es)", sum(a.sent for a in ats))
               for src, ats in sorted(by_src.items())]
    outcomes: dict[str, int] = {}
    for a in attempts:
        outcomes[a.outcome or "error"] = outcomes.get(a.outcome or "error", 0) + 1
    # the whole's control: every legitimate session seen; a blind router is named by its watcher
    control = sum(w.control for w in watched) if watched else -1
    return Result(CASE, realization, sent=sum(a.sent for a in attempts),
                  leaked=len(accepted) + sum(w.seen for w in watched), control=control,
                  errors=errors, sent_by=sent_by, watched=watched, leaks=leaks,
                  notes=[f"{len(attempts)} attempts from {len(by_src)} outsider(s): "
                         + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
                         + f"; read {len(reads)} FRR instance(s) while connected"])


def bgp_session(env) -> Result:
    realization = env.realization()
    if env.control() != "bgp":
        return skipped(CASE, realization, "no BGP in the provider network (control: static)")
    asn = env.world.control.asn
    if not asn:
        return failed(CASE, realization, "the record names no provider AS to claim in the OPEN")
    names = instances(env.testbed)
    atk, pool = launch(env, targets(env.world, env.vms, vrf_transits(env.testbed, names)), asn)
    try:
        deadline = time.monotonic() + CONNECT_S + ANSWER_S + 5
        for ev in atk.ready:
            ev.wait(max(0.0, deadline - time.monotonic()))
        reads = {name: read_instance(env.testbed, name) for name in names}
    finally:
        atk.stop.set()
        pool.shutdown(wait=True)
    return result(atk.attempts, reads, realization)
