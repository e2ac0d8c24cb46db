"""Undo actions one by one (detach, migration): the inverse of apply.py, in reverse order.

Each inverse tolerates "already gone" (ENOENT, ENODEV, ESRCH), so undoing twice is harmless.
Objects that vanish with a parent (addresses, enslavement, qdiscs on a deleted link)
need no inverse of their own.
"""
from __future__ import annotations

import os

from pyroute2.netlink.exceptions import NetlinkError

from ..errors import RealizeError
from ..kernel import ns, ovs, ovsdb
from ..plan.actions import (AclTable, Adopt, BestEffort, Bridge, Enslave, FdbAppend, FdbForget, FibWait, ForgetMac,
                            FrrRouter, MplsRoute, Node, OvsBridge, OvsFlows, OvsPort, Route, Shape, TcClass, TcFilter,
                            Veth, Vrf, Vxlan)
from . import frr, shaping
from .apply import GONE, Kernel, del_link, drop_handle


def _route(k: Kernel, r: Route):
    kw = {"dst": r.dst}
    if r.table is not None:
        kw["table"] = r.table
    if r.kind == "unreachable":
        kw["type"] = "unreachable"
        if r.metric is not None:
            kw["priority"] = r.metric
    try:
        k.ip(r.node).route("del", **kw)
    except NetlinkError as exc:
        if exc.code not in GONE:
            raise RealizeError(f"delete route {r.dst} in {k.netns(r.node)}", exc.code, os.strerror(exc.code)) from None


def undo(testbed: str, nodes: list[Node], actions: list) -> None:
    """Remove what apply_actions(testbed, nodes, actions) built."""
    k = Kernel(testbed)
    # Nothing inside a namespace that is deleted here is removed one by one: deleting a veth costs
    # the caller an RCU grace period (about 20 ms), while the namespace's removal leaves that to the
    # kernel's cleanup, after the call returned (its root-side veth ends go some 25 ms later;
    # apply.py waits for one whose name it needs again).
    going = {n.name for n in nodes}
    try:
        ports = [a.name for a in actions if isinstance(a, OvsPort)]
        bridges = [a.name for a in actions if isinstance(a, OvsBridge)]
        ovsdb.del_ports(ports)
        ovs.vsctl([["--if-exists", "del-br", b] for b in bridges])
        for a in reversed(actions):
            if isinstance(a, FrrRouter):
                # A tenant VRF's instance: stopped before its namespace goes (deleting the
                # namespace's name kills nothing: the daemons would keep it, and its links, alive;
                # the Network Manager releases a VRF's namespace after its membership); its files
                # go either way.
                frr.stop_instance(testbed, a.node)
                continue
            if isinstance(a, Veth):
                if a.a_node in going or a.b_node in going:
                    continue    # its namespace goes below and takes the pair along
                # Either end's namespace may be gone already (another unit's), and a deleted namespace
                # lives on with its links while anything holds it (a process, a socket; its cleanup
                # is asynchronous besides): the pair is deleted from the end that is left, since a
                # peer lingering there would refuse the next pair its name.
                ends = [(n, i) for n, i in ((a.a_node, a.a_if), (a.b_node, a.b_if)) if n is None or ns.exists(k.netns(n))]
                if ends:
                    del_link(k, *ends[0])
                continue
            node = getattr(a, "into", None) or getattr(a, "node", None)
            if node in going:
                continue        # its namespace goes below and takes it along
            if node is not None and not ns.exists(k.netns(node)):
                continue        # its namespace is gone, and everything in it with it
            if isinstance(a, (Bridge, Vrf)):
                del_link(k, a.node, a.name)
            elif isinstance(a, Vxlan):
                del_link(k, a.into, a.name)
            elif isinstance(a, Adopt):
                del_link(k, a.node, a.name)
            elif isinstance(a, Route):
                _route(k, a)
            elif isinstance(a, MplsRoute):
                ns.run(["ip", "-f", "mpls", "route", "del", str(a.label)], netns=k.netns(a.node), check=False)
            elif isinstance(a, FdbAppend):
                ns.run(["bridge", "fdb", "del", "00:00:00:00:00:00", "dev", a.dev, "dst", a.dst],
                       netns=k.netns(a.node), check=False)
            elif isinstance(a, TcFilter):
                shaping.del_filter(k.netns(a.node), a)
            elif isinstance(a, TcClass):
                shaping.del_class(k.netns(a.node), a)
            elif isinstance(a, OvsFlows):      # the bridge may be gone already (down)
                ns.run(["ovs-ofctl", "del-flows", a.bridge, f"cookie={a.cookie:#x}/-1"], check=False)
            elif isinstance(a, (Enslave, Shape, OvsPort, OvsBridge, ForgetMac, FdbForget, FibWait, BestEffort, AclTable)):
                pass            # gone with their parent, or applied once with nothing to undo
    finally:
        k.close()
    for node in reversed(nodes):
        drop_handle(k.netns(node.name))
        ns.delete(k.netns(node.name))
