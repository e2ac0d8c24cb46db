"""Read-only facts of a running testbed for the live view: link state and counters, a node's
addresses, routes and forwarding table.

Every function here only reads (`ip -j`, `bridge -j`, `ovs-appctl fdb/show`), never changes
anything, and answers an empty list for a namespace or bridge that has just gone (a VM detached
between two polls is not an error).  A namespace is entered the one way kernel/exec.py builds
(`ip netns exec NAME ...`); a namespace that is gone makes it exit non-zero, read as empty.
"""
from __future__ import annotations

import json
from typing import Optional

from . import ovs
from .exec import run
from .routes import parse as routes_parse


def _json(argv: list[str], netns: Optional[str] = None) -> list:
    res = run(argv, netns=netns or None, check=False, timeout=5)
    if res.returncode != 0:
        return []
    try:
        return json.loads(res.stdout or "[]")
    except ValueError:
        return []


def links(netns: Optional[str]) -> list[dict]:
    """Every interface of NETNS (None: the root namespace): name, operstate, peer, packet and byte counters."""
    out = []
    for link in _json(["ip", "-j", "-s", "link", "show"], netns):
        stats = link.get("stats64") or link.get("stats") or {}
        rx, tx = stats.get("rx", {}), stats.get("tx", {})
        out.append({"ifname": link.get("ifname"), "state": link.get("operstate", "UNKNOWN"),
                    "up": "UP" in link.get("flags", []), "master": link.get("master"),
                    "rx_packets": rx.get("packets", 0), "tx_packets": tx.get("packets", 0),
                    "rx_bytes": rx.get("bytes", 0), "tx_bytes": tx.get("bytes", 0)})
    return out


def node(netns: str) -> dict:
    """A node's addresses, routes of every table and bridge FDB (what `ip addr`, `ip route show
    table all` and `bridge fdb` show inside it)."""
    addrs = [{"ifname": a.get("ifname"), "master": a.get("master"),
              "addresses": [f"{i['local']}/{i['prefixlen']}" for i in a.get("addr_info", []) if i.get("family") == "inet"]}
             for a in _json(["ip", "-j", "addr", "show"], netns)]
    routes = [{k: r[k] for k in ("dst", "gateway", "dev", "table", "type", "protocol", "encap", "metric") if k in r}
              for r in routes_parse(run(["ip", "-j", "-4", "route", "show", "table", "all"], netns=netns or None,
                                        check=False, timeout=5).stdout)
              if r.get("table") not in ("local",)]
    fdb = [{"mac": f.get("mac"), "dev": f.get("ifname"), "master": f.get("master"), "vlan": f.get("vlan"),
            "dst": f.get("dst")} for f in _json(["bridge", "-j", "fdb", "show"], netns)
           if "permanent" not in f.get("state", "") or f.get("dst")]
    return {"netns": netns, "interfaces": addrs, "routes": routes, "fdb": fdb}


def ovs_fdb(bridge: str) -> list[dict]:
    """The MAC table of an Open vSwitch bridge: port number, VLAN, MAC, age (ovs-appctl fdb/show)."""
    return ovs.fdb(bridge, timeout=5)


def ovs_ports(bridge: str) -> list[dict]:
    """An OVS bridge's ports with their VLAN tag (None: a trunk)."""
    res = run(["ovs-vsctl", "--timeout=5", "--format=json", "--columns=name,tag", "find", "Port"], check=False)
    names = set(run(["ovs-vsctl", "--timeout=5", "list-ports", bridge], check=False).stdout.split())
    if res.returncode != 0:
        return []
    out = []
    for name, tag in json.loads(res.stdout)["data"]:
        if name in names:
            out.append({"port": name, "vlan": tag if isinstance(tag, int) else None})
    return sorted(out, key=lambda p: p["port"])
