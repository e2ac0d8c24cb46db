"""Access-rule tables in the namespaces holding tenant VRFs: an AclTable action made kernel state.

The Network Manager decides what a namespace's table holds (acl/pe.py) and hands it over as one
AclTable; here it is rendered (acl/nft.py) with what only the kernel knows at that moment -- a
kernel VRF's member interfaces and addresses, and the counters to carry over -- and loaded in
one nft transaction.  An AclTable without VPCs removes the table.
"""
from __future__ import annotations

import json
import socket
from typing import Optional

from ..acl.model import Acl
from ..acl.nft import TABLE, VpcRules, VrfScope, parse_counters, removal, render
from ..kernel import nft as knft
from ..kernel import ns
from ..plan.actions import AclTable


def counters(netns: str) -> dict[str, tuple[int, int]]:
    """The table's counters in NETNS: name -> (packets, bytes); empty where there is no table (yet)."""
    listed = knft.counters(netns, "inet", TABLE)
    return {} if listed is None else parse_counters(listed)


def members(netns: str, master: Optional[str]) -> tuple[list[str], list[str]]:
    """A kernel VRF's member interfaces and the IPv4 addresses of the VRF and its members."""
    if master is None:
        return [], []
    ip = ns.rtnl(netns)
    try:
        links = ip.get_links()
        index = next((link["index"] for link in links if link.get_attr("IFLA_IFNAME") == master), None)
        found = {link["index"]: link.get_attr("IFLA_IFNAME") for link in links
                 if index is not None and link.get_attr("IFLA_MASTER") == index}
        local = sorted({a.get_attr("IFA_ADDRESS") for a in ip.get_addr(family=socket.AF_INET)
                        if a["index"] in found or a["index"] == index})
        return sorted(found.values()), local
    finally:
        ip.close()


def apply(netns: str, table: AclTable) -> None:
    if not ns.exists(netns):          # the VRF went with its last endpoint: nothing to filter
        return
    if not table.vpcs:
        knft.load(netns, removal())
        return
    vpcs = []
    for text in table.vpcs:
        d = json.loads(text)
        vpcs.append(VpcRules(d["name"], d["tenant"], d["subnet"], Acl.model_validate(d["acl"]), d["resolved"]))
    scopes = [VrfScope(tenant, master, *members(netns, master)) for tenant, master in table.vrfs]
    knft.load(netns, render(scopes, vpcs, counters(netns)))
