"""What the user sees: progress, tables and JSON.  Rich on a terminal, plain text otherwise."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Optional

import click
from rich.console import Console
from rich.table import Table

from .plan.choose import CHOICES, NOT_OVER, WHY, default, parse_forced
from .scenario.entries import entries
from .verdict import Status, summary as verdict_summary
from .state import world as world_of
from .world import Vpc

import sys

# Wide enough for the tables when the output is a file or a CI log.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def with_progress(fn, quiet: bool, title: str):
    """Run fn(progress) showing each phase and the total time (nothing when quiet)."""
    if quiet:
        return fn(lambda s: None)
    start = time.monotonic()

    def progress(step: str):
        console.print(f"  [dim]{time.monotonic() - start:6.2f} s[/dim]  {step}")
    console.print(f"[bold]{title}[/bold]")
    result = fn(progress)
    console.print(f"  [dim]{time.monotonic() - start:6.2f} s[/dim]  [green]ready[/green]")
    return result


def doctor(features: dict, realize: str | None, as_json: bool, brief: bool = False):
    forced = parse_forced(realize)
    chosen = {}
    for construct, options in CHOICES.items():
        have = {n: all(features.get(f) and features[f].ok for f in needs) for n, needs in options}
        pick = forced.get(construct) or default(construct, have, {c: v["realization"] for c, v in chosen.items()})
        missing = [f for n, needs in options if n == options[0][0] and not have[n] for f in needs
                   if not features[f].ok]
        why = WHY[pick] if not forced.get(construct) else f"forced: {WHY[pick]}"
        if not have.get(pick, False):
            why += " -- NOT BUILDABLE HERE"
        best = options[0][0]
        if pick != best and not forced.get(construct) and have[best]:     # ruled out by an earlier choice
            why += f"; not {best}: {NOT_OVER[best][2]}"
        chosen[construct] = {"realization": pick, "why": why, "best": options[0][0],
                             "missing_for_best": missing}
    netem = features.get("netem")
    chosen["link delay/loss"] = {"realization": "netem" if netem and netem.ok else "degraded",
                                 "why": "netem qdisc" if netem and netem.ok else
                                 "no netem: delay/loss are left out with --degrade (bandwidth still shaped by HTB)"}
    chosen["link bandwidth"] = {"realization": "htb", "why": "HTB class per link end"}
    chosen["vpls core"] = {"realization": "vxlan", "why": "VXLAN between the instance's PEs on every kernel: Linux has "
                                                          "no Ethernet-over-MPLS pseudowires"}
    if as_json:
        click.echo(json.dumps({"features": {k: asdict(v) for k, v in features.items()},
                               "realizations": chosen}, indent=1))
        return
    if not brief:
        t = Table(title="features of this machine", show_lines=False)
        t.add_column("feature")
        t.add_column("")
        t.add_column("detail")
        for name, f in features.items():
            t.add_row(name, "[green]yes[/green]" if f.ok else "[red]no[/red]", f.detail)
        console.print(t)
    t = Table(title="realizations cloudnet-emu will use")
    t.add_column("construct")
    t.add_column("realization")
    t.add_column("why")
    for construct, c in chosen.items():
        t.add_row(construct, c["realization"], c["why"])
    console.print(t)


def plan(the_plan, as_json: bool):
    if as_json:
        click.echo(json.dumps({"testbed": the_plan.testbed, "realizations": the_plan.realizations,
                               "degradations": the_plan.degradations,
                               "nodes": [asdict(n) for n in the_plan.nodes],
                               "actions": [{"kind": type(a).__name__, **asdict(a)} for a in the_plan.actions]},
                              indent=1))
        return
    click.echo(f"testbed {the_plan.testbed}: {len(the_plan.nodes)} namespaces, {len(the_plan.actions)} actions")
    click.echo("realizations: " + ", ".join(f"{k}={v}" for k, v in the_plan.realizations.items()))
    for d in the_plan.degradations:
        click.echo(f"degraded: {d}")
    for n in the_plan.nodes:
        click.echo(f"  netns  {n.name:<14} {n.kind}" + (f" lo {n.loopback}" if n.loopback else ""))
    for a in the_plan.actions:
        shown = {**asdict(a), "configs": ",".join(d for d, _ in a.configs)} if hasattr(a, "configs") else asdict(a)
        fields = ", ".join(f"{k}={v}" for k, v in shown.items() if v not in (None, (), "", 0, 0.0))
        click.echo(f"  {type(a).__name__:<9} {fields}")


def summary(record: dict):
    nodes = record["nodes"]
    kinds = {}
    for n in nodes:
        kinds[n["kind"]] = kinds.get(n["kind"], 0) + 1
    console.print(f"testbed [bold]{record['testbed']}[/bold]: " + ", ".join(f"{v} {k}" for k, v in kinds.items())
                  + f"; {len(record['ovs_bridges'])} OVS bridges")
    console.print("realizations: " + ", ".join(f"{k}={v}" for k, v in record["realizations"].items()))
    for d in record.get("degradations", []):
        console.print(f"[yellow]degraded:[/yellow] {d}")


def inspect(record: dict, vms: list = (), vpcs: Optional[dict[str, Vpc]] = None):
    """What a testbed consists of; VMS and VPCS are the Cloud Manager's (the record holds the plan's)."""
    summary(record)
    world = world_of(record)
    t = Table(title="sites")
    for col in ("site", "tenant", "PE", "VRF on", "subnet", "hosts"):
        t.add_column(col)
    for site, m in world.sites.items():
        t.add_row(site, m.tenant, m.pe, m.vrf_node, m.subnet, ", ".join(f"{h} {ip}" for h, ip in m.hosts.items()))
    console.print(t)
    t = Table(title="VPN instances")
    for col in ("tenant", "core", "identifiers"):
        t.add_column(col)
    for tenant, m in world.vpn.items():
        ids = (f"VNI {m.vni}, transit " + ", ".join(f"{pe} {a}" for pe, a in m.transit.items())
               if m.core == "vxlan" else ", ".join(f"{pe} label {l}" for pe, l in m.vpn_labels.items()))
        t.add_row(tenant, m.core, ids)
    console.print(t)
    t = Table(title="cloud sites")
    for col in ("site", "PE", "switch", "datapath", "servers"):
        t.add_column(col)
    for site, m in world.clouds.items():
        t.add_row(site, m.pe, m.switch, m.datapath,
                  ", ".join(f"{s} ({v.vcpus} vCPU, {v.mem_mb} MB)" for s, v in m.servers.items()))
    console.print(t)
    t = Table(title="VPCs")
    for col in ("VPC", "tenant", "type", "subnet", "sites", "VMs"):
        t.add_column(col)
    for name, m in (vpcs if vpcs is not None else world.vpcs).items():
        mine = [vm["name"] for vm in vms if vm["vpc"] == name]
        t.add_row(name, m.tenant, m.type, str(m.subnet or "(site LAN)"), ", ".join(m.sites),
                  f"{len(mine)}" + (f" ({', '.join(mine)})" if mine else ""))
    console.print(t)
    t = Table(title="nodes")
    for col in ("node", "kind", "namespace", "loopback"):
        t.add_column(col)
    for n in record["nodes"]:
        t.add_row(n["name"], n["kind"], n["netns"], n.get("loopback") or "")
    console.print(t)


def routing(record: dict, live: dict):
    """Under control bgp: convergence at `up`, then each router's daemons and iBGP sessions now."""
    control = world_of(record).control
    if control.realization != "bgp":
        return
    took = (record.get("control") or {}).get("converged_s")
    console.print(f"control plane: FRR, OSPF core, iBGP AS {control.asn}, "
                  + (f"reflectors {', '.join(control.reflectors)}" if control.reflectors else "a full mesh of PEs")
                  + (f"; converged {took:.2f} s after the daemons started"
                                                            if took is not None else ""))
    t = Table(title="BGP sessions")
    for col in ("router", "daemons", "peer", "state", "prefixes in/out", "up"):
        t.add_column(col)
    for router, m in live.get("routing", {}).items():
        dead = [d for d, pid in m["daemons"].items() if pid is None]
        daemons = "all running" if not dead else f"[red]not running: {', '.join(dead)}[/red]"
        peers = m["peers"] or {}
        if not peers:
            t.add_row(router, daemons, "", "", "", "")
        for addr, p in peers.items():
            st = p.get("state") or "?"
            t.add_row(router, daemons, f"{addr} ({p.get('desc') or ''})",
                      st if st == "Established" else f"[red]{st}[/red]", f"{p.get('pfxRcd')}/{p.get('pfxSnt')}",
                      str(p.get("peerUptime") or ""))
            router = daemons = ""
    console.print(t)
    if live.get("evpn"):
        t = Table(title="EVPN MACs (zebra: local interface or remote VTEP; sequence local/remote)")
        for col in ("PE", "VNI", "MAC", "at", "seq"):
            t.add_column(col)
        for pe, vnis in live["evpn"].items():
            for vni, macs in sorted(vnis.items()):
                for mac, m in sorted(macs.items()):
                    t.add_row(pe, str(vni), mac, str(m["where"]), m["seq"])
        console.print(t)
    if live.get("vrf_routes"):
        t = Table(title="tenant VRFs: routes learned by their own BGP")
        for col in ("VRF", "prefix", "next hop"):
            t.add_column(col)
        for vrf, routes in live["vrf_routes"].items():
            for prefix, hop in sorted(routes.items()):
                t.add_row(vrf, prefix, hop)
        console.print(t)


def checks(results, as_json: bool):
    """The verdicts of `cloudnet-emu check`: status, and what was observed (the evidence in --json)."""
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=1))
        return
    colour = {Status.PASS: "green", Status.FAIL: "red", Status.ERROR: "red", Status.NOT_CHECKED: "yellow"}
    t = Table(title="checks (real traffic; isolation watched where a leak would land)")
    for col in ("check", "kind", "result", "observed"):
        t.add_column(col)
    for r in results:
        t.add_row(r.name, r.kind, f"[{colour[r.status]}]{r.status}[/]", r.reason)
    console.print(t)
    console.print(verdict_summary(r.status for r in results))


def checks_ok(results) -> bool:
    """Exit 0 only if nothing failed or could not be judged."""
    return bool(results) and not any(r.status in (Status.FAIL, Status.ERROR) for r in results)


def attached(vm: dict):
    s = vm["steps_ms"]
    console.print(f"attached [bold]{vm['name']}[/bold] to {vm['vpc']} ({vm['type']}) on {vm['server']} in {vm['site']}: "
                  f"{vm['ip']}/{vm['prefixlen']} {vm['mac']} VLAN {vm['vlan']}")
    console.print(f"  1 VM creation {s['vm']:.1f} ms, 2 VLAN {s['vlan']:.1f} ms, 3 logical CE {s['lce']:.1f} ms"
                  f"{' (reused)' if vm.get('reused_lce') else ''}, 4 VPN on the PE {s['vpn']:.1f} ms"
                  + (f" (of which {s['propagated']:.1f} ms until every remote VRF's kernel routed it)"
                     if "propagated" in s else "") + f"; total {s['total']:.1f} ms")


def vms(rows: list[dict]):
    t = Table(title="VMs")
    for col in ("VM", "VPC", "type", "site", "server", "VLAN", "IP", "MAC", "vCPU", "MB"):
        t.add_column(col)
    for v in rows:
        t.add_row(v["name"], v["vpc"], v["type"], v["site"], v["server"], str(v["vlan"]), v["ip"], v["mac"],
                  str(v["vcpus"]), str(v["mem_mb"]))
    console.print(t)


def vpcs(rows: list[dict]):
    t = Table(title="VPCs")
    for col in ("VPC", "tenant", "type", "subnet", "sites", "VMs"):
        t.add_column(col)
    for v in rows:
        t.add_row(v["name"], v["tenant"], v["type"], str(v["subnet"]), ", ".join(v["sites"]), ", ".join(v["vms"]))
    console.print(t)


def reservations(book: dict):
    t = Table(title="reservations")
    for c in ("name", "VPC", "kind", "rate", "class", "hops"):
        t.add_column(c)
    for m in book["reservations"]:
        rate = f"{m['bw']:g}" if m["kind"] == "pipe" else f"in {m['ingress']:g} / out {m['egress']:g}"
        ends = " <-> ".join(e["name"] for e in m["ends"]) if m["kind"] == "pipe" else m["site"]
        t.add_row(m["name"], m["vpc"], f"{m['kind']} {ends}", rate + " Mbit/s", m["classid"],
                  ", ".join(h["direction"].replace(">", "->") for h in m["hops"]))
    console.print(t)
    if book["used"]:
        console.print("reserved per link direction: " +
                      ", ".join(f"{d.replace('>', '->')} {v:g}" for d, v in sorted(book["used"].items())) + " Mbit/s")


_COLOUR = {"pass": "green", "fail": "red", "error": "red", "not checked": "yellow"}
def scenario_table(report: dict) -> None:
    """A scenario report as the terminal table `run` prints."""
    t = Table(title=f"scenario {report['scenario']}: " + ", ".join(
        f"{k}={v}" for k, v in report["realization"].items() if k != "degradations"))
    for col in ("", "step / check", "kind", "expected", "result", "ms", "detail"):
        t.add_column(col)
    steps = {id(s): i for i, s in enumerate(report["steps"], 1)}
    for kind, e in entries(report):
        colour = _COLOUR[e["result"]]
        t.add_row(str(steps[id(e)]) if kind == "step" else "", e["name"][:60], e["action"] if kind == "step" else e["kind"],
                  str(e["expected"]), f"[{colour}]{e['result']}[/{colour}]",
                  f"{e['duration_ms']:.1f}" if kind == "step" else "", e["detail"][:70])
    console.print(t)
    console.print(verdict_summary(e["result"] for _, e in entries(report)))
