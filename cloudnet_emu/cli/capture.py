"""Where `cloudnet-emu capture` listens: every port the testbed owns, by name.

    NODE:IFACE     an interface inside a node's namespace (p1:pe1, acme-h1:eth0, web:eth0)
    NODE           every interface of that node (tcpdump -i any)
    root:IFACE     a device of the root namespace the testbed owns: server trunks (cnt-/cns-),
                   VM ports (cnv-<vm>), hand-off cables (cnl-...), OVS bridges (cnb-...);
                   the same spelling scenario checks use
    IFACE          such a root-namespace device alone (cnv-web, cnt-dc1-s1)

Anything else is one line naming what there is, exit 2; a root device the testbed does not own
is refused (capturing on someone else's interfaces is not this tool's business).
"""
from __future__ import annotations

from typing import Optional

from . import args
from .. import naming, state
from ..kernel import ns, ovs

ROOT = "root"


def root_ports(testbed: str) -> list[str]:
    """The testbed's devices in the root namespace: recorded veths, its OVS bridges and their ports."""
    record = state.read(testbed) or {}
    bridges = record.get("ovs_bridges", [])
    return sorted(set(record.get("root_devs", [])) | set(bridges) | {p for b in bridges for p in ovs.ports(b)})


def nodes(testbed: str) -> list[str]:
    prefix = naming.netns(testbed, "")
    return sorted(n[len(prefix):] for n in ns.listing() if n.startswith(prefix))


def target(testbed: str, where: str) -> tuple[Optional[str], str]:
    """(namespace or None for the root namespace, interface or "any") of a capture argument."""
    node, colon, iface = where.partition(":")
    if node == ROOT and colon:
        port = iface
    elif not colon and not ns.exists(naming.netns(testbed, node)):
        port = node
    else:
        port = None
    if port is not None:
        owned = root_ports(testbed)
        if port not in owned:
            raise args.BadArgument(
                f"{where!r} is neither a node of testbed {testbed!r} nor a port it owns in the root namespace; "
                f"nodes (NODE or NODE:IFACE): {', '.join(nodes(testbed))}; "
                f"root ports (root:PORT or PORT): {', '.join(owned) or 'none'}")
        return None, port
    if not ns.exists(naming.netns(testbed, node)):
        raise args.BadArgument(f"no node {node!r} in testbed {testbed!r}; name one of: {', '.join(nodes(testbed))} "
                               f"(or root:PORT for a port in the root namespace)")
    return naming.netns(testbed, node), iface or "any"
