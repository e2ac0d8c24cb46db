"""What the live page draws: a testbed's state record and its VMs as cytoscape.js elements.

Pure data, no kernel: `elements(record, vms)` reads the state record (state.json: nodes,
info.core_links, info.sites, info.clouds, info.internet, info.vpcs) and the Cloud Manager's
VMs (cloud/data.json), and returns

    {"nodes": [{"data": {...}, "classes": "..."}], "edges": [...], "vpcs": [...], "meta": {...}}

Conventions the page relies on:
  * node ids are the testbed's node names; compound parents are `site:<s>` (an enterprise
    site: its CE and hosts) and `cloud:<s>` (a cloud site: CE router, switch, servers, VMs);
    a server is `server:<srv>`, a VM `vm:<name>` with `parent` its cloud site, `server` its
    server and an edge `on:<vm>@<server>` (its port) to that server;
  * every node has `kind` (pe, p, internet, vrf, ce, host, cloud-ce, switch, server, vm, site,
    cloud) and, where it belongs to one, `tenant` (the page colours by tenant);
  * every edge has `counter`: [netns or null for the root namespace, ifname] or null, the interface
    whose state and counters stand for the link (interfaces are named after the node at the
    other end, so a core link a--b is interface b in a's namespace);
  * a VM being migrated carries `migration` {"phase", "to"} (migration/migrate.py records it).
"""
from __future__ import annotations

from typing import Optional

from .. import naming, state


def _node(id_: str, kind: str, label: str, parent: Optional[str] = None, **extra) -> dict:
    data = {"id": id_, "kind": kind, "label": label, **{k: v for k, v in extra.items() if v is not None}}
    if parent:
        data["parent"] = parent
    return {"data": data, "classes": kind}


def _edge(a: str, b: str, kind: str, counter: Optional[tuple[Optional[str], str]], id_: Optional[str] = None,
          **extra) -> dict:
    return {"data": {"id": id_ or f"link:{a}--{b}", "source": a, "target": b, "kind": kind,
                     "counter": list(counter) if counter else None,
                     **{k: v for k, v in extra.items() if v is not None}},
            "classes": kind}


def elements(record: dict, vms: list[dict]) -> dict:
    tb = record["testbed"]
    world = state.world(record)

    def ns(node: str) -> str:
        return naming.netns(tb, node)

    nodes, edges = [], []
    sites, clouds = world.sites, world.clouds
    for n in record.get("nodes", []):
        kind, name = n["kind"], n["name"]
        if kind in ("pe", "p", "internet"):
            nodes.append(_node(name, kind, name, netns=n["netns"], loopback=n.get("loopback")))
        elif kind == "vrf":
            nodes.append(_node(name, "vrf", f"VRF {n['tenant']}", tenant=n["tenant"], pe=n["site"], netns=n["netns"]))
            # a VRF namespace is part of its PE (no link of its own to count)
            edges.append(_edge(n["site"], name, "vrf", None))
        elif kind == "ce":
            nodes.append(_node(name, "ce", name, parent=f"site:{n['site']}", tenant=n["tenant"], netns=n["netns"]))
        elif kind == "host":
            nodes.append(_node(name, "host", name, parent=f"site:{n['site']}", tenant=n["tenant"], netns=n["netns"],
                               ip=sites[n["site"]].hosts.get(name) if n["site"] in sites else None))
            edges.append(_edge(n["site"], name, "lan", (ns(name), "eth0")))
        elif kind == "cloud-ce":
            nodes.append(_node(name, "cloud-ce", f"{name} CE", parent=f"cloud:{n['site']}", netns=n["netns"]))
    for s, site in sites.items():
        nodes.append(_node(f"site:{s}", "site", s, tenant=site.tenant, subnet=site.subnet))
        # the access link ends in the tenant's VRF: its namespace, or the PE itself with a kernel VRF
        edges.append(_edge(s, site.vrf_node or site.pe, "access", (ns(s), site.pe), bw=site.bw,
                           delay_ms=site.declared_delay_ms))
    for link in world.core_links:
        edges.append(_edge(link.a, link.b, "core", (ns(link.a), link.b), bw=link.bw, delay_ms=link.declared_delay_ms))
    inet = world.internet
    if inet:
        edges.append(_edge(inet.node, inet.pe, "internet", (ns(inet.node), inet.pe)))
    for c, cloud in clouds.items():
        nodes.append(_node(f"cloud:{c}", "cloud", c, datapath=cloud.datapath))
        switch = cloud.switch
        nodes.append(_node(switch, "switch", switch, parent=f"cloud:{c}", bridge=switch))
        edges.append(_edge(cloud.ce, cloud.pe, "wan", (ns(cloud.ce), cloud.pe), bw=cloud.link.get("bw")))
        # the switch reaches the CE router by one hand-off cable per VPC: no single interface to count
        edges.append(_edge(switch, cloud.ce, "handoff", None))
        for srv, server in cloud.servers.items():
            nodes.append(_node(f"server:{srv}", "server", srv, parent=f"cloud:{c}", bridge=server.bridge,
                               vcpus=server.vcpus, mem_mb=server.mem_mb))
            edges.append(_edge(switch, f"server:{srv}", "trunk", (None, naming.trunk_site_side(srv))))
    vpcs = world.vpcs
    for vm in sorted(vms, key=lambda v: v["name"]):
        extra = {k: vm.get(k) for k in ("vpc", "tenant", "ip", "mac", "vlan", "site", "server", "port")}
        nodes.append({**_node(f"vm:{vm['name']}", "vm", vm["name"], parent=f"cloud:{vm['site']}",
                              netns=ns(vm["name"]), migration=vm.get("migration"), **extra),
                      "classes": "vm migrating" if vm.get("migration") else "vm"})
        # its VM port on the server's bridge, in the root namespace
        edges.append(_edge(f"vm:{vm['name']}", f"server:{vm['server']}", "port", (None, vm["port"]),
                           id_=f"on:{vm['name']}@{vm['server']}"))
    return {"nodes": nodes, "edges": edges,
            "vpcs": [{"name": v, "tenant": m.tenant, "type": m.type, "subnet": m.subnet,
                      "vms": sorted(x["name"] for x in vms if x["vpc"] == v)} for v, m in vpcs.items()],
            "meta": {"testbed": tb, "status": record.get("status"), "started": record.get("started"),
                     "realizations": record.get("realizations", {}),
                     "degradations": record.get("degradations", []),
                     "tenants": world.tenants}}


def counted(elems: dict) -> list[tuple[Optional[str], str]]:
    """The distinct (netns, ifname) pairs whose counters the page shows."""
    return sorted({tuple(e["data"]["counter"]) for e in elems["edges"] if e["data"]["counter"]},
                  key=lambda p: (p[0] or "", p[1]))


def routing(live: dict) -> dict:
    """The page's picture of each provider router's control plane, from realize/frr.sessions' reading:
    router -> {ok, established, sessions, down: [daemons not running], peers: {address: {state, desc,
    received, sent, uptime}}}.  ok: every daemon running and every session Established."""
    out = {}
    for router, m in live.items():
        down = sorted(d for d, pid in m["daemons"].items() if not pid)
        peers = {addr: {"state": p.get("state", "?"), "desc": p.get("desc", ""), "received": p.get("pfxRcd"),
                        "sent": p.get("pfxSnt"), "uptime": p.get("peerUptime", "")}
                 for addr, p in sorted(m["peers"].items())}
        established = sum(p["state"] == "Established" for p in peers.values())
        out[router] = {"ok": not down and bool(peers) and established == len(peers), "established": established,
                       "sessions": len(peers), "down": down, "peers": peers}
    return out
