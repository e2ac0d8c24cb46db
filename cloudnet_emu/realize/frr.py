"""The provider's control plane under `control: bgp`: start every router's FRR, wait until it
has converged, show its sessions, stop it.

Order: zebra, staticd and ospfd first; bgpd only once OSPF has put every loopback into every
router's kernel.  bgpd started earlier finds its peers unreachable, and each failed attempt
doubles its idle hold time: sessions then came up 10 s late where they could in milliseconds.

Converged means, observed and not taken on the daemons' word: every route the plan expects
(the world's `control.routes`: other routers' loopbacks, cloud WAN subnets) is in each
router's kernel FIB (`ip -j route`), every iBGP session the plan expects is Established
(`vtysh ... summary json`), and every BGP speaker has learned every other PE's loopback
(`show bgp ipv4 unicast json`: Established alone comes before the first UPDATE).  The wait has a deadline; the error names what was still missing.
On an MPLS core (VPNv4) ldpd starts with bgpd, after the IGP (LDP's sessions run between
loopbacks, and a failed first connection backs off for seconds), and converged also means that
every planned VRF's table routes every other member's prefixes with a label stack
(`control.vrf_tables`; `ip -j route show vrf`, kernel/routes.py): the routes the data plane uses,
with LDP's transport label and bgpd's VPN label on them.
"""
from __future__ import annotations

import errno
import ipaddress
import os
import time
from dataclasses import replace
from typing import Callable, Optional

from .. import naming, state
from ..errors import RealizeError
from ..kernel import frr as kfrr
from ..kernel import routes as kroutes
from ..plan.actions import FrrRouter
from ..plan.frr import DAEMONS, START_ORDER, VRF_DAEMONS
from ..world import Control

CONVERGE_S = 60.0
# VPNv4 adds LDP's sessions and the VPN routes' import after them; in a loaded VM-tier guest Figure 1
# took 78.6 s from the first daemon (OSPF 8.4 s) and another run's p1 bgpd still did not answer at 60 s.
VPNV4_CONVERGE_S = 120.0
SUMMARY = "show bgp ipv4 unicast summary json"


def start(testbed: str, routers: list[FrrRouter], progress: Callable[[str], None] = lambda s: None) -> None:
    """Every instance's daemons, zebra first everywhere; a provider router's bgpd and ldpd wait for
    its IGP (converge starts them); a tenant VRF's (zebra and bgpd only) starts at once."""
    if not routers:
        return
    names = sorted(r.node for r in routers)
    progress(f"FRR: {len(names)} instances ({', '.join(names[:6])}{', ...' if len(names) > 6 else ''})")
    state.share_with(testbed, kfrr.ids()[1])
    dirs = {r.node: state.daemon_dir(testbed, r.node) for r in routers}
    for r in routers:
        kfrr.prepare(dirs[r.node], dict(r.configs))
    started = []
    for daemon in START_ORDER:      # zebra everywhere first: the others connect to its zserv.api
        batch = [r.node for r in routers if daemon in dict(r.configs)
                 and not (daemon in AFTER_IGP and "ospfd" in dict(r.configs))]
        kfrr.start_many([(naming.netns(testbed, node), dirs[node], daemon) for node in batch])
        started += [(node, daemon) for node in batch]
    for node, daemon in started:
        kfrr.check_started(dirs[node], daemon)


def stop_instance(testbed: str, node: str) -> None:
    """One instance (a tenant VRF's, when the Network Manager takes it down): daemons, then files."""
    directory, netns = state.daemon_dir(testbed, node), naming.netns(testbed, node)
    if kfrr.pids(directory, netns):     # none once its namespace has gone (then no longer ours to tell)
        kfrr.stop(directory, netns)
    kfrr.remove(directory)


AFTER_IGP = ("ldpd", "bgpd")


def _start_bgpd(testbed: str, routers: list[str]) -> None:
    """ldpd (where configured) and bgpd of the provider routers, once the IGP has converged."""
    for daemon in AFTER_IGP:
        todo = [r for r in routers if os.path.exists(os.path.join(state.daemon_dir(testbed, r), f"{daemon}.conf"))
                and daemon not in kfrr.pids(state.daemon_dir(testbed, r), naming.netns(testbed, r))]
        kfrr.start_many([(naming.netns(testbed, r), state.daemon_dir(testbed, r), daemon) for r in todo])
        for r in todo:
            kfrr.check_started(state.daemon_dir(testbed, r), daemon)


def _fib(testbed: str, router: str) -> set[str]:
    rows = kroutes.read(naming.netns(testbed, router))       # labelled routes too (LDP's on an MPLS core)
    return {str(ipaddress.ip_network(r["dst"] if "/" in r["dst"] else r["dst"] + "/32"))
            for r in rows if r.get("dst") not in (None, "default")}


def _gateways(netns: str, prefix: str) -> set[str]:
    """The gateways of the kernel FIB's routes to exactly `prefix` in a namespace."""
    rows = kroutes.read(netns, prefix=prefix)
    return {r.get("gateway") for r in rows if r.get("dst") == prefix.removesuffix("/32")}


def fib_wait(places: list[tuple[str, str]], prefix: str, via: Optional[str], timeout_s: float,
             vrf: Optional[str] = None) -> float:
    """Until each (node, netns) routes `prefix` via `via` in its kernel FIB (with `vrf`: in that VRF's
    table, with a label stack, whatever the gateway); the seconds it took."""
    t0 = time.monotonic()
    pending = list(places)

    def routed(netns):
        if vrf:
            return prefix in kroutes.labelled(netns, vrf)
        return via in _gateways(netns, prefix)
    while pending:
        pending = [(node, netns) for node, netns in pending if not routed(netns)]
        if not pending:
            break
        if time.monotonic() - t0 > timeout_s:
            raise RealizeError(f"wait for {prefix} via {via}", errno.ETIMEDOUT,
                               f"not in the kernel FIB of {', '.join(n for n, _ in pending)} after {timeout_s:g} s")
        time.sleep(0.005)
    return time.monotonic() - t0


def peer_states(testbed: str, router: str) -> dict[str, dict]:
    """peer address -> {state, pfxRcd, pfxSnt, peerUptime} from bgpd; {} while it does not answer."""
    summary = kfrr.vtysh(state.daemon_dir(testbed, router), SUMMARY) or {}
    return {addr: {k: p.get(k) for k in ("state", "pfxRcd", "pfxSnt", "peerUptime", "desc")}
            for addr, p in (summary.get("peers") or {}).items()}


def lacking(testbed: str, control: Control, routers) -> dict[str, list[str]]:
    """router -> what it lacks now (routes not in its kernel FIB, sessions not Established)."""
    out = {}
    for router in routers:
        lack = []
        want = (control.routes or {}).get(router, [])
        if want:
            fib = _fib(testbed, router)
            lack += [f"no route to {p} in its kernel FIB" for p in want if p not in fib]
        peers = (control.sessions or {}).get(router, [])
        if peers:
            seen = peer_states(testbed, router)
            for addr in peers:
                st = (seen.get(addr) or {}).get("state") or "not configured yet (bgpd not answering)"
                if st != "Established":
                    lack.append(f"session to {addr} is {st}")
        for vrf, prefixes in sorted(((control.vrf_tables or {}).get(router) or {}).items()):
            stacks = kroutes.labelled(naming.netns(testbed, router), vrf)
            lack += [f"no labelled route to {p} in {vrf}" for p in prefixes if p not in stacks]
        learned = (control.bgp_routes or {}).get(router, [])
        if learned and not any(x.startswith("session") for x in lack):
            table = (kfrr.vtysh(state.daemon_dir(testbed, router), "show bgp ipv4 unicast json") or {}).get("routes") or {}
            lack += [f"no BGP route to {p} yet" for p in learned if p not in table]
        if lack:
            out[router] = lack
    return out


def converge(testbed: str, control: Control, deadline_s: float = CONVERGE_S,
             progress: Callable[[str], None] = lambda s: None) -> dict:
    """Wait for the IGP's routes in every kernel FIB, start bgpd, wait for every session; how long it took."""
    progress("waiting for OSPF: every loopback and WAN subnet in every router's kernel")
    if control.vrf_tables and deadline_s == CONVERGE_S:
        deadline_s = VPNV4_CONVERGE_S
    t0 = time.monotonic()
    routers = sorted(set(control.routes) | set(control.sessions) | set(control.vrf_tables or {}))
    vrfs = set(control.vrfs or ())
    provider = [r for r in routers if r not in vrfs]
    # a tenant VRF's routes come over the EVPN transit, which needs the PEs' bgpd: not before it
    igp_only = {r: v for r, v in control.routes.items() if r not in vrfs}
    _wait(testbed, replace(control, sessions={}, bgp_routes={}, routes=igp_only, vrf_tables=None), provider,
          t0 + deadline_s, deadline_s)
    igp = time.monotonic() - t0
    _start_bgpd(testbed, provider)
    progress(f"OSPF converged in {igp:.2f} s; bgpd started, waiting for the iBGP sessions")
    _wait(testbed, control, routers, t0 + deadline_s, deadline_s)
    took = time.monotonic() - t0
    n_sessions = sum(len(v) for v in control.sessions.values())
    n_routes = sum(len(v) for v in control.routes.values()) + sum(
        len(p) for t in (control.vrf_tables or {}).values() for p in t.values())
    progress(f"converged in {took:.2f} s: {n_sessions} session ends Established, {n_routes} routes installed")
    return {"converged_s": round(took, 3), "igp_s": round(igp, 3), "session_ends": n_sessions, "routes": n_routes}


def _wait(testbed: str, control: Control, routers: list[str], deadline: float, deadline_s: float) -> None:
    pending = routers
    while True:
        missing = lacking(testbed, control, pending)
        if not missing:
            if pending == routers:      # a pass over every router found nothing missing
                return
            pending = routers           # the stragglers are done: confirm with a full pass
            continue
        if time.monotonic() > deadline:
            detail = "; ".join(f"{r}: {', '.join(v)}" for r, v in sorted(missing.items()))
            raise RealizeError("control plane convergence", errno.ETIMEDOUT,
                               f"not converged after {deadline_s:g} s: {detail} (logs: {state.daemon_dir(testbed)})")
        pending = sorted(missing)
        time.sleep(0.05)


def _later_vrfs(testbed: str) -> set[str]:
    """Tenant VRF instances the Network Manager started after `up` (their directories: <pe>.<tenant>)."""
    try:
        return {d for d in os.listdir(state.daemon_dir(testbed)) if "." in d}
    except FileNotFoundError:
        return set()


def sessions(testbed: str, control: Control) -> dict:
    """router -> {daemons: {daemon: pid or None}, peers: {addr: {...}}} as the routers see it now
    (the tenant VRFs' instances included, the planned ones and those made at attach)."""
    out = {}
    vrfs = set(control.vrfs or ()) | _later_vrfs(testbed)
    for router in sorted(set(control.routes or {}) | set(control.sessions or {}) | vrfs):
        directory = state.daemon_dir(testbed, router)
        alive = kfrr.pids(directory, naming.netns(testbed, router))
        daemons = (control.vrf_daemons or VRF_DAEMONS) if router in vrfs else control.daemons or DAEMONS
        out[router] = {"daemons": {d: alive.get(d) for d in daemons},
                       "peers": peer_states(testbed, router) if "bgpd" in alive else {}}
    return out


def evpn_macs(testbed: str, routers) -> dict:
    """PE -> VNI -> MAC -> {where: local interface or remote VTEP, seq: local/remote sequence}, from zebra."""
    out = {}
    for router in routers:
        data = kfrr.vtysh(state.daemon_dir(testbed, router), "show evpn mac vni all json") or {}
        vnis = {vni: {mac: {"where": m.get("intf") if m.get("type") == "local" else m.get("remoteVtep"),
                            "seq": f"{m.get('localSequence')}/{m.get('remoteSequence')}"}
                      for mac, m in (v.get("macs") or {}).items()}
                for vni, v in data.items() if isinstance(v, dict)}
        if vnis:
            out[router] = vnis
    return out


def vrf_routes(testbed: str, vrfs) -> dict:
    """VRF -> prefix -> the next hop of bgpd's best path (what the VRF learned from its tenant's other VRFs)."""
    out = {}
    for vrf in vrfs:
        table = (kfrr.vtysh(state.daemon_dir(testbed, vrf), "show bgp ipv4 unicast json") or {}).get("routes") or {}
        learned = {}
        for prefix, paths in table.items():
            best = next((p for p in paths if p.get("bestpath")), None)
            hops = (best or {}).get("nexthops") or []
            if best and hops and hops[0].get("ip") != "0.0.0.0":
                learned[prefix] = hops[0].get("ip")
        out[vrf] = learned
    return out


def stop_all(testbed: str) -> dict[str, list[str]]:
    """Stop every FRR instance of the testbed (pid files under its directory, in its namespaces)."""
    root = state.daemon_dir(testbed)
    try:
        routers = sorted(os.listdir(root))
    except FileNotFoundError:
        return {}
    got = kfrr.stop_many([(os.path.join(root, r), naming.netns(testbed, r)) for r in routers])
    return {r: g for r, g in zip(routers, got) if g}


def release_state_root(leaving: str) -> None:
    """The state root goes back to root-only once no other testbed runs daemons."""
    if not any(os.path.isdir(state.daemon_dir(t)) for t in state.running() if t != leaving):
        state.unshare()
