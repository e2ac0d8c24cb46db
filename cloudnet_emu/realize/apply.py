"""Apply a Plan to the kernel: namespaces first, then each action in plan order, OVS last.

Every operation tolerates "already there" (EEXIST with the same object), so a
half-applied plan can be applied again.  Interfaces are created directly in their
final namespaces (the veth peer is born there), so a crash never strands a veth
in the root namespace except the OVS-side ends, which are named cn?-* and die
with their peer's namespace.
"""
from __future__ import annotations

import errno
import json
import os
import threading
from contextlib import contextmanager
from typing import Callable, Optional

from pyroute2.netlink.exceptions import NetlinkError

from .. import naming
from ..errors import RealizeError
from ..kernel import ns, offload, ovs, ovsdb, rtnl
from ..plan.actions import (AclTable, Address, Adopt, BestEffort, Bridge, Enslave, FdbAppend, FdbForget, FibWait,
                            ForgetMac, FrrRouter, MplsRoute, Node, OvsBridge, OvsFlows, OvsPort, Plan, Route, Shape,
                            TcClass, TcFilter, Veth, Vrf, Vxlan)
from . import acl, edge_filter, frr, shaping

Progress = Callable[[str], None]


_kept = threading.local()     # handles shared by every Kernel of this thread inside kept_handles()
KEPT_MAX = 64                 # namespaces with a kept handle (three sockets each) at most


@contextmanager
def kept_handles():
    """Within it, the rtnetlink handles every Kernel of this thread opens stay open and are shared
    (an attach builds five units over the same namespaces); closed at the end, or before their
    namespace is deleted (an open socket would keep a deleted namespace and its links alive)."""
    if getattr(_kept, "handles", None) is not None:      # nested: the outer one closes
        yield
        return
    _kept.handles = {}
    try:
        yield
    finally:
        handles, _kept.handles = _kept.handles, None
        for h in handles.values():
            h.close()


def deferred_ovs():
    """Within it, OVSDB changes do not wait for ovs-vswitchd to apply them; leaving it waits once
    for all of them (kernel/ovsdb.py:deferred; a detach overlaps its port's removal with the rest)."""
    return ovsdb.deferred()


def drop_handle(netns: Optional[str]) -> None:
    """Close the kept handle of a namespace about to be deleted."""
    handles = getattr(_kept, "handles", None)
    if handles is not None and netns in handles:
        handles.pop(netns).close()


class Kernel:
    """rtnetlink handles, one per namespace, opened on first use (or kept ones, see kept_handles)."""

    def __init__(self, testbed: str):
        self.testbed = testbed
        kept = getattr(_kept, "handles", None)
        self._kept = kept is not None
        self._handles = kept if kept is not None else {}

    def netns(self, node: Optional[str]) -> Optional[str]:
        return None if node is None else naming.netns(self.testbed, node)

    def ip(self, node: Optional[str]):
        name = self.netns(node)
        handle = self._handles.pop(name, None)
        self._handles[name] = handle or ns.rtnl_fast(name)      # kept in order of last use
        if handle is None:
            self._trim()
        return self._handles[name]

    def adopt(self, node: Optional[str], handle) -> None:
        """Keep a handle opened elsewhere (ns.create's) as node's, unless one is kept already."""
        name = self.netns(node)
        if name in self._handles:
            handle.close()
        else:
            self._handles[name] = handle
            self._trim()

    def _trim(self):
        """Kept handles over a bulk of attaches: the least recently used go past KEPT_MAX (a VM's
        namespace is not touched again in the bulk; the routers' are, every attach)."""
        while self._kept and len(self._handles) > KEPT_MAX:
            self._handles.pop(next(iter(self._handles))).close()

    def index(self, node: Optional[str], ifname: str) -> int:
        found = self.ip(node).link_lookup(ifname=ifname)
        if not found:
            raise RealizeError(f"lookup {ifname} in {self.netns(node) or 'root namespace'}", errno.ENODEV,
                               "no such interface")
        return found[0]

    def close(self):
        if self._kept:
            return
        for h in self._handles.values():
            h.close()
        self._handles.clear()


def _nl(op: str, fn, *args, **kw):
    """Call a pyroute2 operation; EEXIST is success (idempotent), anything else a RealizeError."""
    try:
        return fn(*args, **kw)
    except NetlinkError as exc:
        if exc.code == errno.EEXIST:
            return None
        raise RealizeError(op, exc.code, os.strerror(exc.code)) from None


def create_namespaces(k: Kernel, nodes: list[Node]) -> None:
    for node in nodes:
        name = k.netns(node.name)
        # IPv4 only: no IPv6 router solicitations or DAD noise in captures.  Every interface _up
        # brings up makes no IPv6 address; a router's namespace also turns IPv6 off for devices made
        # by others.  A VM's or host's gets no sysctl at all: a write under /proc/sys in a new
        # namespace costs more the more namespaces exist (2.6 ms at the 1000th, 6.3 ms at the 3000th).
        sysctls = []
        if node.forwarding:
            # Asymmetric paths through VRFs are normal here; strict reverse-path checks would drop them.
            sysctls = [("net.ipv6.conf.all.disable_ipv6", 1), ("net.ipv6.conf.default.disable_ipv6", 1),
                       ("net.ipv4.ip_forward", 1), ("net.ipv4.conf.all.rp_filter", 0),
                       ("net.ipv4.conf.default.rp_filter", 0)]
        if node.mpls:
            sysctls.append(("net.mpls.platform_labels", 100000))
        k.adopt(node.name, ns.create(name, sysctls, handle=True))     # one thread for all three
        ip = k.ip(node.name)
        ip.link("set", index=k.index(node.name, "lo"), state="up")
        if node.loopback:
            addr, plen = node.loopback.split("/")
            _nl(f"add {node.loopback} to lo in {name}", ip.addr, "add", index=k.index(node.name, "lo"),
                address=addr, prefixlen=int(plen))


def apply_plan(plan: Plan, progress: Progress = lambda s: None) -> None:
    """Build everything in the plan.  On failure the caller tears down (see lifecycle)."""
    apply_actions(plan.testbed, plan.nodes, plan.actions, progress)


def apply_actions(testbed: str, nodes: list[Node], actions: list, progress: Progress = lambda s: None,
                  mpls_nodes: tuple = (), ovs_later: list | None = None) -> None:
    """Create NODES, then apply ACTIONS in order (OVS in one transaction, shaping, then routing daemons).

    With `ovs_later`, OVS actions are appended to it instead, for one transaction over many
    calls (OVS reconfigures every port of a bridge per transaction: batching keeps bulk
    attaches linear)."""
    k = Kernel(testbed)
    try:
        if nodes:
            progress(f"namespaces ({len(nodes)})")
            create_namespaces(k, nodes)
        progress("links, VRFs, tunnels, routes")
        deferred_ovs = []
        shapes = []
        daemons = []
        for action in actions:
            if isinstance(action, (OvsBridge, OvsPort)):
                deferred_ovs.append(action)
            elif isinstance(action, Shape):
                shapes.append(action)
            elif isinstance(action, FrrRouter):
                daemons.append(action)
            else:
                APPLY[type(action)](k, action)
        _enable_mpls(k, [n.name for n in nodes if n.mpls] + list(mpls_nodes))
        if deferred_ovs and ovs_later is not None:
            ovs_later.extend(deferred_ovs)
        elif deferred_ovs:
            progress(f"Open vSwitch ({sum(isinstance(a, OvsBridge) for a in deferred_ovs)} bridges, "
                     f"{sum(isinstance(a, OvsPort) for a in deferred_ovs)} ports)")
            _ovs(testbed, deferred_ovs)
        if shapes:
            progress(f"link shaping ({len(shapes)} interfaces)")
            shaping.apply_all([(k.netns(s.node), s) for s in shapes])
        # Last: zebra then reads every interface and address the plan made.
        frr.start(testbed, daemons, progress)
    finally:
        k.close()


def _veth(k: Kernel, a: Veth):
    _half_gone(k, a)
    ip = k.ip(a.a_node)
    if a.b_node is None:
        peer_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
    else:
        peer_ns = k.netns(a.b_node)
    extra = {"address": a.a_mac} if a.a_mac else {}
    try:
        _nl(f"veth {a.a_node or 'root'}:{a.a_if} -- {a.b_node or 'root'}:{a.b_if}", ip.link, "add", ifname=a.a_if,
            kind="veth", mtu=a.mtu, peer={"ifname": a.b_if, "net_ns_fd": peer_ns, "mtu": a.mtu}, **extra)
    finally:
        if isinstance(peer_ns, int):
            os.close(peer_ns)
    for node, ifname, addr in ((a.a_node, a.a_if, a.a_addr), (a.b_node, a.b_if, a.b_addr)):
        _up(k, node, ifname, addr)
    if a.tx_csum_off:
        for node, ifname in ((a.a_node, a.a_if), (a.b_node, a.b_if)):
            offload.tx_checksum_off(k.netns(node), ifname, k.ip(node).inet)
    if a.proxy_arp:    # proxy_delay default: up to 0.8 s
        ns.sysctls(k.netns(a.a_node), [(f"net/ipv4/conf/{a.a_if}/proxy_arp", 1),
                                       (f"net/ipv4/neigh/{a.a_if}/proxy_delay", 0)])


def _half_gone(k: Kernel, a: Veth):
    """One end's name may still be held by a veth whose other end was in a namespace deleted a moment
    ago (the kernel removes a deleted namespace's devices after the call returned: a VM detached and
    attached again under its name, a VPC's logical CE rebuilt after its VRF namespace went).  Wait up
    to HALF_GONE_WAIT_S for it to go, then delete it: a deleted namespace lives on while anything holds
    it (a TCP orphan retransmitting its FIN was seen to keep one for minutes), and its devices with it.
    Both ends there: a re-run over our own veth, kept."""
    ends = [(node, ifname, k.ip(node)) for node, ifname in ((a.a_node, a.a_if), (a.b_node, a.b_if))]
    there = [bool(ip.link_lookup(ifname=ifname)) for _, ifname, ip in ends]
    if there[0] != there[1]:
        node, ifname, ip = ends[0] if there[0] else ends[1]
        if not ns.wait_for(lambda: not ip.link_lookup(ifname=ifname), HALF_GONE_WAIT_S, step=0.002):
            del_link(k, node, ifname)


HALF_GONE_WAIT_S = 2.0
GONE = {errno.ENOENT, errno.ENODEV, errno.ESRCH, errno.EADDRNOTAVAIL}     # "already gone": what undo tolerates


def del_link(k: Kernel, node, ifname):
    """Delete link IFNAME of NODE (None: the root namespace) if it is there."""
    ip = k.ip(node)
    found = ip.link_lookup(ifname=ifname)
    if found:
        try:
            ip.link("del", index=found[0])
        except NetlinkError as exc:
            if exc.code not in GONE:
                raise RealizeError(f"delete {ifname} in {k.netns(node) or 'root namespace'}", exc.code,
                                   os.strerror(exc.code)) from None


def _up(k: Kernel, node, ifname, addr=None):
    """Bring IFNAME up with IPv4 address ADDR, and without any IPv6 address (set before it goes up:
    an interface up makes its link-local address at once)."""
    ip, idx = k.ip(node), k.index(node, ifname)
    try:
        ip.link("set", index=idx, IFLA_AF_SPEC=rtnl.NO_IPV6_ADDRESSES)
    except NetlinkError as exc:
        if exc.code != errno.EAFNOSUPPORT:      # no IPv6 on it at all (an MTU under 1280): nothing to stop
            raise RealizeError(f"no IPv6 address on {ifname} in {k.netns(node)}", exc.code,
                               os.strerror(exc.code)) from None
    if addr:
        a, plen = addr.split("/")
        _nl(f"address {addr} on {ifname} in {k.netns(node)}", ip.addr, "add", index=idx, address=a,
            prefixlen=int(plen))
    ip.link("set", index=idx, state="up")


def _bridge(k: Kernel, b: Bridge):
    _nl(f"bridge {b.name} in {k.netns(b.node)}", k.ip(b.node).link, "add", ifname=b.name, kind="bridge")
    _up(k, b.node, b.name, b.addr)


def _vrf(k: Kernel, v: Vrf):
    _nl(f"vrf {v.name} table {v.table} in {k.netns(v.node)}", k.ip(v.node).link, "add", ifname=v.name,
        kind="vrf", vrf_table=v.table)
    _up(k, v.node, v.name)


def _enslave(k: Kernel, e: Enslave):
    ip = k.ip(e.node)
    _nl(f"set {e.ifname} master {e.master}", ip.link, "set", index=k.index(e.node, e.ifname),
        master=k.index(e.node, e.master))


def _vxlan(k: Kernel, v: Vxlan):
    ip = k.ip(v.node)
    _nl(f"vxlan {v.name} vni {v.vni} in {k.netns(v.node)}", ip.link, "add", ifname=v.name, kind="vxlan",
        vxlan_id=v.vni, vxlan_local=v.local, vxlan_port=v.port, vxlan_learning=int(v.learning), mtu=1500,
        **({"address": v.mac} if v.mac else {}))
    if v.into != v.node and ip.link_lookup(ifname=v.name):
        # The UDP socket stays in the PE's namespace; the device joins the VRF namespace.
        ip.link("set", index=k.index(v.node, v.name), net_ns_fd=k.netns(v.into))
    if v.master:
        _enslave(k, Enslave(v.into, v.name, v.master))
        if not v.learning:
            # The bridge must not learn MACs from frames coming out of the tunnel either: under
            # EVPN the remote MACs are zebra's extern_learn entries, and a data-plane entry on
            # this port would replace a local one (a MAC moving between sites) behind zebra's
            # back, which deletes zebra's entry and its move count (duplicate-address detection).
            res = ns.run(["bridge", "link", "set", "dev", v.name, "learning", "off"], netns=k.netns(v.into),
                         check=False)
            if res.returncode != 0:
                raise RealizeError(f"learning off on {v.name} in {k.netns(v.into)}", 0,
                                   (res.stderr or "").strip() or f"exit status {res.returncode}")
    _up(k, v.into, v.name, v.addr)
    for peer in v.peers:
        ns.run(["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", v.name, "dst", peer],
               netns=k.netns(v.into), check=False)


def _fdb(k: Kernel, f: FdbAppend):
    ns.run(["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", f.dev, "dst", f.dst], netns=k.netns(f.node),
           check=False)


def _address(k: Kernel, a: Address):
    _up(k, a.node, a.ifname, a.addr)


def _adopt(k: Kernel, a: Adopt):
    """Take a hand-off cable from the root namespace into node, under its local name."""
    root = k.ip(None)
    found = root.link_lookup(ifname=a.ifname)
    if found:
        idx = found[0]
        root.link("set", index=idx, state="down")
        _nl(f"move {a.ifname} into {k.netns(a.node)}", root.link, "set", index=idx, net_ns_fd=k.netns(a.node))
        ip = k.ip(a.node)
        _nl(f"rename {a.ifname} to {a.name}", ip.link, "set", index=k.index(a.node, a.ifname), ifname=a.name)
    if a.master:
        _enslave(k, Enslave(a.node, a.name, a.master))
    _up(k, a.node, a.name, a.addr)


def _route(k: Kernel, r: Route):
    ip = k.ip(r.node)
    kw = {"dst": r.dst}
    if r.table is not None:
        kw["table"] = r.table
    if r.metric is not None:
        kw["priority"] = r.metric
    if r.kind == "unreachable":
        kw["type"] = "unreachable"
    else:
        if r.via:
            kw["gateway"] = r.via
        if r.dev:
            kw["oif"] = k.index(r.node, r.dev)
        if r.labels:
            kw["encap"] = {"type": "mpls", "labels": list(r.labels)}
    _nl(f"route {r.dst} in {k.netns(r.node)}" + (f" table {r.table}" if r.table else ""), ip.route,
        "replace", **kw)


def _mpls_route(k: Kernel, m: MplsRoute):
    argv = ["ip", "-f", "mpls", "route", "replace", str(m.label)]
    if m.out:
        argv += ["as", "/".join(map(str, m.out))]
    if m.via:
        argv += ["via", "inet", m.via]
    if m.dev:
        argv += ["dev", m.dev]
    ns.run(argv, netns=k.netns(m.node))


def _enable_mpls(k: Kernel, nodes: list[str]):
    """MPLS input on the provider-facing interfaces of a label-switching router (core, lo, VRF
    links), never on one toward a CE or the Internet (RFC 4364 section 6; realize/edge_filter.py)."""
    if not nodes:
        return
    allowed = edge_filter.mpls_input_allowed(k.testbed)
    for node in nodes:
        for link in k.ip(node).get_links():
            name = link.get_attr("IFLA_IFNAME")
            if name in allowed:
                ns.sysctl(k.netns(node), f"net/mpls/conf/{name}/input", 1)


def apply_ovs(testbed: str, actions: list) -> None:
    """Apply OVS actions collected with `ovs_later`, in one transaction."""
    if actions:
        _ovs(testbed, actions)


def _ovs(testbed: str, actions: list):
    if all(isinstance(a, OvsPort) for a in actions):     # the attach path: in-process, no fork
        try:
            ovsdb.add_ports([{"bridge": a.bridge, "name": a.name, "tag": a.tag, "trunks": a.trunks, "peer": a.peer,
                              "type": a.type if a.type == "patch" else None,
                              "external_ids": {naming.OVS_OWNER_KEY: testbed,
                                               **{f"cloudnet-emu-{k}": v for k, v in a.ids}}}
                             for a in actions])
            return
        except ovsdb.Taken:
            pass                # a re-run over ports that exist: ovs-vsctl --may-exist below
    cmds = []
    for a in actions:
        if isinstance(a, OvsBridge):
            cmds += [["--may-exist", "add-br", a.name],
                     ["set", "bridge", a.name, f"datapath_type={a.datapath}", "fail_mode=standalone",
                      f"external_ids:{naming.OVS_OWNER_KEY}={testbed}", f"external_ids:cloudnet-emu-role={a.role}",
                      f"external_ids:cloudnet-emu-owner={a.owner}",
                      "other_config:mac-aging-time=300"]]
        else:
            cmds.append(["--may-exist", "add-port", a.bridge, a.name])
            sets = [f"external_ids:{naming.OVS_OWNER_KEY}={testbed}"] + \
                [f"external_ids:cloudnet-emu-{k}={v}" for k, v in a.ids]
            if a.tag is not None:
                sets += [f"tag={a.tag}", "vlan_mode=access"]
            elif a.trunks:
                sets += [f"trunks={','.join(map(str, a.trunks))}", "vlan_mode=trunk"]
            cmds.append(["set", "port", a.name] + sets)
            if a.type == "patch":
                cmds.append(["set", "interface", a.name, "type=patch", f"options:peer={a.peer}"])
    ovs.vsctl(cmds, ovsdb.timeout_for(sum(isinstance(a, OvsPort) for a in actions),
                                      sum(isinstance(a, OvsBridge) for a in actions)))
    # Bring up the bridges' local ports (tap devices of the userspace datapath).
    for a in actions:
        if isinstance(a, OvsBridge):
            ns.run(["ip", "link", "set", a.name, "up"], check=False)


def _flows(k: Kernel, f: OvsFlows):
    for flow in f.flows:
        ns.run(["ovs-ofctl", "add-flow", f.bridge, flow])


def _forget_mac(k: Kernel, f: ForgetMac):
    ovs.forget_mac([tuple(p) for p in f.places], f.mac)


def _fdb_forget(k: Kernel, f: FdbForget):
    """Every entry of the MAC on the bridge: the port's own entry (`master`) and the device's."""
    netns = k.netns(f.node)
    out = ns.run(["bridge", "-j", "fdb", "show", "br", f.bridge], netns=netns, check=False).stdout
    for dev in sorted({e["ifname"] for e in json.loads(out or "[]")
                       if e.get("mac", "").lower() == f.mac.lower() and e.get("ifname")}):
        ns.run(["bridge", "fdb", "del", f.mac, "dev", dev, "master"], netns=netns, check=False)
        ns.run(["bridge", "fdb", "del", f.mac, "dev", dev], netns=netns, check=False)


def _fib_wait(k: Kernel, w: FibWait):
    frr.fib_wait([(node, k.netns(node)) for node in w.nodes], w.prefix, w.via, w.timeout_s, w.vrf)


APPLY = {Veth: _veth, Bridge: _bridge, Vrf: _vrf, Enslave: _enslave, Vxlan: _vxlan, Route: _route,
         MplsRoute: _mpls_route, FdbAppend: _fdb, Adopt: _adopt, Address: _address,
         TcClass: lambda k, c: shaping.add_class(k.netns(c.node), c),
         TcFilter: lambda k, f: shaping.add_filter(k.netns(f.node), f),
         OvsFlows: _flows, ForgetMac: _forget_mac, FdbForget: _fdb_forget,
         BestEffort: lambda k, b: shaping.best_effort(k.netns(b.node), b.dev, b.rate, b.ceil),
         AclTable: lambda k, t: acl.apply(k.netns(t.node), t),
         FibWait: _fib_wait}
