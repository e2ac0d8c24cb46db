"""Run a scenario: bring its topology up (or use a running testbed), run the steps and
checks in order, tear down, and write the report.  Exit status: 0 iff every step and
check came out as expected.

Every step is timed, with its phases (attach: Figure 2's four steps).  A step or check
marked `expect: fail` is ok when it fails: negative controls are part of a scenario.
"""
from __future__ import annotations

import ipaddress
import re
import time
from pathlib import Path
from typing import Callable, Optional

from .. import lifecycle, naming, pipeline, state
from ..checks import capture_text, pings
from ..errors import CloudnetError
from ..kernel import ns
from . import qos
from .model import Check, Scenario, Step, load_scenario

Progress = Callable[[str], None]


class World:
    """Names in a scenario -> namespaces and addresses in the running testbed."""

    def __init__(self, testbed: str, report_dir: Optional[str] = None):
        self.testbed = testbed
        self.report_dir = report_dir
        self.migrations: dict[str, dict] = {}     # vm -> what its last migration saw
        self.metrics: dict[str, float] = {}
        self.refresh()

    def refresh(self):
        self.record = state.read(self.testbed)
        self.cloud, self.network = pipeline.managers(self.testbed)
        info = self.record["info"]
        self.addr: dict[str, str] = {}
        for site, m in info.get("sites", {}).items():
            self.addr.update(m["hosts"])
            self.addr[site] = m["gateway"]
        if info.get("internet"):
            self.addr[info["internet"]["node"]] = info["internet"]["address"].split("/")[0]
        for router, lo in info.get("loopbacks", {}).items():
            self.addr[router] = lo.split("/")[0]
        for vm in self.cloud.vms():
            self.addr[vm["name"]] = vm["ip"]

    def vrf(self, node: str, tenant: str) -> dict:
        key = f"{node}/{tenant}"
        vrfs = self.record["info"].get("vrfs", {})
        if key in vrfs:
            return vrfs[key]
        unit = self.network.ledger.units.get(f"vrf:{key}")
        if unit is None:
            raise CloudnetError(f"no VRF of {tenant} on {node}")
        return unit["meta"]["placement"]

    def netns(self, node: str) -> Optional[str]:
        return None if node == "root" else naming.netns(self.testbed, node)

    def address(self, name: str) -> str:
        try:
            return str(ipaddress.IPv4Address(name))
        except ValueError:
            pass
        if name not in self.addr:
            raise CloudnetError(f"{name!r} has no address in testbed {self.testbed}")
        return self.addr[name]

    def mac(self, name: str) -> str:
        vm = self.cloud.data["vms"].get(name)
        return vm["mac"] if vm else name.lower()


def _names(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _reach(w: World, src: str, dst: str, tries: float = 2.0) -> bool:
    return _reach_all(w, [(src, dst)], tries)[(src, dst)]


def _reach_all(w: World, pairs: list[tuple[str, str]], tries: float = 2.0) -> dict:
    """Which pairs get a reply, all pinged in parallel; pairs without one are tried again for
    `tries` seconds (a new path may need a moment: ARP, FDB learning)."""
    end = time.monotonic() + tries
    got = {p: False for p in pairs}
    while True:
        todo = [p for p, ok in got.items() if not ok]
        res = pings(w.testbed, [(s, w.address(d)) for s, d in todo], count=1)
        for s, d in todo:
            got[(s, d)] = res[(s, w.address(d))]
        if all(got.values()) or time.monotonic() >= end:
            return got


def run_check(w: World, c: Check) -> dict:
    w.refresh()
    body = getattr(c, c.kind)
    expected = c.expect
    if c.kind in ("reach", "isolated"):
        pairs = [(s, d) for s in _names(body.src) for d in _names(body.to) if s != d]
        want_reply = (c.kind == "reach")
        got = _reach_all(w, pairs, tries=2.0 if want_reply else 0.0)
        passed = all(v == want_reply for v in got.values())
        detail = ", ".join(f"{s}->{d} {'reply' if v else 'no reply'}" for (s, d), v in got.items())
        name = c.name or f"{c.kind} {','.join(_names(body.src))} -> {','.join(_names(body.to))}"
        kind = "reachability" if c.kind == "reach" else "isolation"
    elif c.kind == "encap":
        passed, detail = _encap(w, body)
        what = (f"VLAN {body.vlan}" if body.vlan else f"VNI {body.vni}" if body.vni is not None else
                f"MPLS {body.mpls if body.mpls is not True else ''}".strip())
        name, kind = c.name or f"encap {what} on {body.link} for {body.src} -> {body.to}", "encapsulation"
    elif c.kind == "route":
        argv = ["ip", "-n", w.netns(body.node), "route", "show", body.dst]
        if body.vrf:     # the tenant's VRF on that router, whichever way it is realized
            place = w.vrf(body.node, body.vrf)
            argv = ["ip", "-n", w.netns(place["node"]), "route", "show"] + \
                (["table", str(place["table"])] if place["table"] else []) + [body.dst]
        out = ns.run(argv, check=False).stdout.strip()
        passed, detail = bool(out), out or "no such route"
        name, kind = c.name or f"route {body.dst} on {body.node}" + (f" vrf {body.vrf}" if body.vrf else ""), "state"
    elif c.kind == "fdb":
        passed, detail = _fdb(w, body)
        name, kind = c.name or f"fdb {body.mac} on {body.bridge}" + (f" at {body.port}" if body.port else ""), "state"
    elif c.kind in ("throughput", "latency"):
        passed, detail, default = getattr(qos, c.kind)(w, body)
        name, kind = c.name or default, "performance"
    elif c.kind == "garp":
        seen = w.migrations.get(body.vm, {}).get("sniffed", {}).get(body.at)
        if seen is None:
            passed, detail = False, f"no sniffer listened at {body.at} during {body.vm}'s last migration"
        else:
            passed = bool(seen)
            detail = f"{len(seen)} gratuitous ARP(s) from {body.vm} seen at {body.at}" + (
                f", first {seen[0]['time'] - w.migrations[body.vm]['times']['resume']:.3f} s after resume"
                if seen else "")
        name, kind = c.name or f"gratuitous ARP of {body.vm} seen at {body.at}", "packets"
    elif c.kind == "flow":
        from ..acl.flow import run_flow
        passed, detail, _ = run_flow(w, body, expected)
        name, kind = c.name or f"flow {body.src} -> {body.to} {body.proto}" + (
            f"/{body.port}" if body.port else "") + (" both ways" if body.both else ""), "access"
    elif c.kind == "attack":
        from .. import attack
        results = attack.run(w.testbed, body.cases)
        passed = all(r.held for r in results)
        detail = "; ".join(f"{r.case}: sent {r.sent}, leaked {r.leaked}, {r.verdict}" for r in results)
        name, kind = c.name or f"attack {', '.join(body.cases or ['(all cases)'])}", "isolation"
    else:
        tcp = w.migrations.get(body.vm, {}).get("tcp")
        if tcp is None:
            passed, detail = False, f"no TCP connection was held across {body.vm}'s last migration"
        else:
            resume = w.migrations[body.vm]["times"]["resume"]
            after = [e for e in tcp["echoes"] if e[1] > resume and e[2]]
            passed = tcp["error"] is None and bool(after)
            detail = (f"{len(tcp['echoes'])} echoes on one connection, {len(after)} after resume"
                      + (f"; error {tcp['error']}" if tcp["error"] else ""))
        name, kind = c.name or f"TCP connection to {body.vm} survives its migration", "continuity"
    ok = passed if expected == "pass" else not passed
    return {"name": name, "kind": kind, "expected": expected, "ok": ok, "detail": detail[:500]}


def _encap(w: World, e) -> tuple[bool, str]:
    node, _, iface = e.link.partition(":")
    if e.vpn:       # the tenant's L3VPN, as the core realization carries it
        vpn = w.record["info"].get("vpn", {}).get(e.vpn) or {}
        if not vpn:
            for entry in w.network.ledger.units.values():
                if entry["meta"].get("tenant") == e.vpn and "vpn" in entry["meta"]:
                    vpn = entry["meta"]["vpn"]
        if w.record["realizations"]["core"] == "mpls":
            e = e.model_copy(update={"mpls": sorted(set(vpn.get("vpn_labels", {}).values())) or True})
        else:
            e = e.model_copy(update={"vni": vpn.get("vni", 10000 + w.record["info"]["tenants"].index(e.vpn))})
    if e.vlan:
        bpf = f"vlan {e.vlan}"
    elif e.vni is not None:
        bpf = "udp port 4789"
    else:
        bpf = "mpls"
    def traffic():
        _reach(w, e.src, e.to)
        pings(w.testbed, [(e.src, w.address(e.to))], count=3)
    text = capture_text(w.netns(node), iface, bpf, traffic, timeout=3)
    if e.vlan:
        ok = f"vlan {e.vlan}," in text and w.address(e.to) in text
    elif e.vni is not None:
        ok = f"vni {e.vni} " in text
    elif isinstance(e.mpls, list) and e.vpn:    # a VPN's labels differ per egress PE: any of them
        ok = any(f"label {l}," in text for l in e.mpls)
    elif isinstance(e.mpls, list):              # a stack: all of them
        ok = all(f"label {l}," in text for l in e.mpls)
    else:
        ok = "MPLS (label" in text
    return ok, text or "nothing captured"


def _fdb(w: World, f) -> tuple[bool, str]:
    mac = w.mac(f.mac)
    if ":" in f.bridge and not f.bridge.startswith("cnb-"):   # NODE:BRIDGE, a Linux bridge (VPLS instance)
        node, br = f.bridge.split(":", 1)
        out = ns.run(["bridge", "-n", w.netns(node), "fdb", "show", "br", br], check=False).stdout
        rows = [l for l in out.splitlines() if l.startswith(mac)]
        port = rows[0].split(" dev ")[1].split()[0] if rows else None
    else:
        br = f.bridge if f.bridge.startswith("cnb-") else naming.bridge(f.bridge)
        out = ns.run(["ovs-appctl", "fdb/show", br], check=False).stdout
        names = _ofports(br)
        rows = [l for l in out.splitlines() if mac in l]
        port = names.get(rows[0].split()[0]) if rows else None
    if not rows:
        return False, f"{mac} not in the FDB of {f.bridge}"
    want = _port_name(w, f)
    ok = want is None or port == want
    return ok, f"{mac} at port {port}" + (f" (expected {want})" if want and not ok else "")


def _port_name(w: World, f) -> Optional[str]:
    """Symbolic ports: `uplink` (the VPC's hand-off toward the PE in that site), `vm` (the VM's own
    port), `server:NAME` (the trunk from the site switch to a server); anything else is literal."""
    if f.port in (None,) or f.port not in ("uplink", "vm") and not f.port.startswith("server:"):
        return f.port
    if f.port.startswith("server:"):
        return naming.trunk_site_side(f.port.split(":", 1)[1])
    vm = w.cloud.data["vms"].get(f.mac)
    if vm is None:
        raise CloudnetError(f"port {f.port!r} needs `mac:` to name a VM")
    if f.port == "vm":
        return vm["port"]
    site = f.bridge.removeprefix("cnb-")
    vlan = w.cloud.data["vlans"].get(site, {}).get(vm["vpc"])
    if vlan is None:
        return f"(no {vm['vpc']} uplink in {site})"
    return naming.handoff(w.testbed, site, vlan, "tor")


def _ofports(bridge: str) -> dict[str, str]:
    out = ns.run(["ovs-ofctl", "show", bridge], check=False).stdout
    return {m.group(1): m.group(2) for m in re.finditer(r"^\s*(\d+)\(([^)]+)\)", out, re.M)}


def _sniff_point(w: World, place: str, vm: dict, dst_server: str) -> tuple[Optional[str], str]:
    """(namespace, interface) where a sniffer sees a place's share of the VM's segment."""
    clouds = w.record["info"].get("clouds", {})
    if place in clouds:     # a trunk between the site switch and a server: every VLAN passes there
        servers = list(clouds[place]["servers"])
        server = vm["server"] if vm["server"] in servers else dst_server if dst_server in servers else servers[0]
        return None, naming.trunk_site_side(server)
    sites = w.record["info"].get("sites", {})
    if place in sites:      # a host of the enterprise site's LAN
        host = next(iter(sites[place]["hosts"]), None)
        if host is None:
            return w.netns(place), "lan"
        return w.netns(host), "eth0"
    return w.netns(place), "eth0"


def _migrate(w: World, m) -> dict:
    from ..migration.measure import outage, timeline
    from ..migration.migrate import Agent
    vm = dict(w.cloud.data["vms"][m.vm])
    to_site, _, to_server = m.to.partition("/")
    dst_server = to_server or next(iter(w.record["info"]["clouds"][to_site]["servers"]))
    agents, sniffers = [], {}
    try:
        if m.probe or m.tcp:
            agents.append(Agent(w.netns(m.vm), "workload", 9000, ready=True))
        for place in m.sniff:
            netns, iface = _sniff_point(w, place, vm, dst_server)
            sniffers[place] = Agent(netns, "sniff", iface, 3600, vm["mac"], ready=True)
        tcp = Agent(w.netns(m.tcp), "tcp", vm["ip"], 9000, 3600, ready=True) if m.tcp else None
        probe = Agent(w.netns(m.probe.src), "probe", vm["ip"], 9000, m.probe.rate, 3600) if m.probe else None
        time.sleep(m.probe.before_s if m.probe else 0.3)
        result = w.cloud.migrate(m.vm, to_site, to_server or None, m.pause_ms, m.garp)
        time.sleep(m.probe.after_s if m.probe else 0.5)
        probed = probe.result(stop=True) if probe else None
        held = tcp.result(stop=True) if tcp else None
        seen = {place: a.result(stop=True, timeout=10)["garps"] for place, a in sniffers.items()}
    finally:
        for a in agents + list(sniffers.values()):
            a.kill()
    if probed:
        result["outage"] = outage(probed, m.pause_ms)
    w.migrations[m.vm] = {**result, "sniffed": seen, "tcp": held}
    n = sum(1 for k in w.metrics if k.startswith("migration_total_ms")) + 1
    w.metrics[f"migration_total_ms.{n}"] = result["total_ms"]
    w.metrics[f"migration_pause_ms.{n}"] = result["pause_ms"]
    w.metrics[f"migration_precopy_bytes.{n}"] = result["precopy_bytes"]
    w.metrics[f"migration_precopy_ms.{n}"] = result["phases_ms"]["precopy"]
    if probed:
        for k in ("probes_lost", "outage_ms", "outage_beyond_pause_ms", "probe_rate_pps"):
            if k in result["outage"]:
                w.metrics[f"migration_{k}.{n}"] = result["outage"][k]
    if w.report_dir:
        import os
        os.makedirs(w.report_dir, exist_ok=True)
        png = os.path.join(w.report_dir, f"migration-{n}-{m.vm}.png")
        timeline(png, result, probed, f"{m.vm}: {result['from']} -> {result['to']}, pause {m.pause_ms:g} ms, "
                 f"{'GARP' if m.garp else 'no GARP'}")
        result["timeline"] = png
    return result


def _default_name(step: Step, detail: str) -> str:
    if step.link:
        return f"link {step.link.endpoints[0]}--{step.link.endpoints[1]} {step.link.state}"
    if step.migrate:
        return f"migrate {step.migrate.vm} -> {step.migrate.to}"
    if step.wait is not None:
        return f"wait {step.wait:g} s"
    if step.ovs:
        return f"ovs {step.ovs}"
    if step.acl:
        return f"acl {step.acl.vpc}"
    if step.detach:
        return f"detach {step.detach.vm}"
    if step.reserve:
        return f"reserve {step.reserve.name}" + (" (release)" if step.reserve.release else "")
    return f"attach {step.attach.name or detail.split(' ')[0] or step.attach.vpc}"


def run_step(w: World, step: Step) -> dict:
    t0 = time.perf_counter()
    phases, detail, ok, check = [], "", True, None
    try:
        if step.attach:
            a = step.attach
            vm = w.cloud.attach(a.vpc, site=a.site, server=a.server, vcpus=a.vcpus, mem_mb=a.mem_mb, ip=a.ip,
                                mac=a.mac, name=a.name, policy=a.policy, near=a.near)
            phases = [{"name": k, "duration_ms": v} for k, v in vm["steps_ms"].items() if k != "total"]
            detail = f"{vm['name']} on {vm['server']} ({vm['site']}) {vm['ip']} VLAN {vm['vlan']}"
        elif step.detach:
            w.cloud.detach(step.detach.vm)
            detail = f"{step.detach.vm} detached"
        elif step.migrate:
            result = _migrate(w, step.migrate)
            phases = [{"name": k, "duration_ms": v} for k, v in result["phases_ms"].items()]
            detail = (f"{result['vm']} {result['from']} -> {result['to']} in {result['total_ms']:.0f} ms, "
                      f"pre-copy {result['precopy_bytes'] >> 20} MB at {result['precopy_mbit_s']} Mbit/s, "
                      f"pause {result['pause_ms']:.0f} ms" +
                      (f", outage {result['outage']['outage_ms']:.1f} ms, {result['outage']['probes_lost']} of "
                       f"{result['outage']['probes_sent']} probes lost" if "outage" in result else ""))
        elif step.link:
            from ..links import set_link
            a, b = step.link.endpoints
            set_link(w.testbed, a, b, step.link.state == "up")
            detail = f"{a} -- {b} {step.link.state}"
        elif step.acl:
            a = step.acl
            got = w.network.acl({"vpc": a.vpc, "acl": a.model_dump(by_alias=True, exclude={"vpc"})})
            detail = f"{a.vpc}: {got['rules']} rule(s), default {a.default}, at {', '.join(got['pes']) or 'no PE yet'}"
        elif step.reserve is not None:
            detail = qos.run_reserve(w, step.reserve)
        elif step.wait is not None:
            time.sleep(step.wait)
            detail = f"waited {step.wait} s"
        elif step.ovs == "restart":
            from ..kernel.ovs_daemon import restart_vswitchd
            res = restart_vswitchd()
            phases = [{"name": "stop", "duration_ms": res["down_s"] * 1000},
                      {"name": "start", "duration_ms": res["up_s"] * 1000}]
            detail = f"ovs-vswitchd restarted (pid {res['old_pid']} -> {res['new_pid']}) in {res['total_s']:.2f} s"
        else:
            check = run_check(w, step.check)
            ok, detail = check["ok"], check["detail"]
    except CloudnetError as exc:
        ok, detail = False, str(exc)
        if step.check is not None:      # a check that could not even run: failed, and said why
            c = step.check
            check = {"name": c.name or f"{c.kind} check", "kind": c.kind, "expected": c.expect,
                     "ok": c.expect == "fail", "detail": detail}
            ok = check["ok"]
    if step.check is None and step.expect == "fail":
        ok = not ok
    name = step.name or (check["name"] if check else _default_name(step, detail))
    return {"name": name, "action": step.action, "ok": ok, "expected": step.expect,
            "duration_ms": round((time.perf_counter() - t0) * 1000, 2), "phases": phases, "detail": detail[:500],
            "_check": check}


def run(path: str, report_dir: Optional[str] = None, testbed: Optional[str] = None,
        progress: Progress = lambda s: None) -> dict:
    sc: Scenario = load_scenario(path)
    topo_path = str(Path(path).parent / sc.topology)
    started = time.perf_counter()
    own = testbed is None
    if own:
        record = pipeline.up(topo_path, sc.realize, sc.degrade, progress)
        name = record["testbed"]
    else:
        name = state.resolve(testbed)
    metrics: dict[str, float] = {"up_s": round(time.perf_counter() - started, 3)} if own else {}
    steps, checks = [], []
    try:
        w = World(name, report_dir)
        for i, step in enumerate(sc.steps):
            result = run_step(w, step)
            progress(f"step {i + 1}/{len(sc.steps)} {result['action']}: {'ok' if result['ok'] else 'NOT OK'} "
                     f"({result['duration_ms']:.0f} ms) {result['detail'][:80]}")
            check = result.pop("_check")
            if check:
                checks.append(check)
            steps.append(result)
            if step.attach and result["ok"] and step.expect == "pass":
                for ph in result["phases"]:
                    metrics[f"attach_{ph['name']}_ms.{len([s for s in steps if s['action'] == 'attach'])}"] = \
                        ph["duration_ms"]
        for c in sc.checks:
            result = run_check(w, c)
            progress(f"check {result['name'][:70]}: {'ok' if result['ok'] else 'NOT OK'}")
            checks.append(result)
        record = state.read(name)
        metrics.update(w.metrics)
    finally:
        if own:
            t = time.perf_counter()
            lifecycle.down(name)
            metrics["down_s"] = round(time.perf_counter() - t, 3)
    attach_totals = [s["duration_ms"] for s in steps if s["action"] == "attach" and s["ok"] and s["expected"] == "pass"]
    if attach_totals:
        metrics["attach_total_ms.mean"] = round(sum(attach_totals) / len(attach_totals), 2)
        metrics["attach_total_ms.max"] = max(attach_totals)
    report = {
        "ok": all(s["ok"] for s in steps) and all(c["ok"] for c in checks),
        "scenario": sc.name, "topology": topo_path,
        "realization": {**record["realizations"], "degradations": record.get("degradations", [])},
        "steps": steps, "checks": checks, "metrics": metrics,
    }
    if report_dir:
        from .report import write
        write(report, report_dir)
    return report
