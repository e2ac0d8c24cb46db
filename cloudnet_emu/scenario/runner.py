"""Run a scenario: bring its topology up (or use a running testbed), run the steps and
checks in order, tear down, and write the report.  Exit status: 0 iff every step and
check came out as expected.

Every step is timed, with its phases (attach: Figure 2's four steps).  Every step and check result
carries a `status` (pass/fail/error/not checked, verdict.py) and `ok` = verdict.outcome(status,
expect): a check marked `expect: fail` is ok when it fails well-formed (never when it errs); a step
marked `expect: {fail: KIND}` is ok only when refused with that refusal (model.REFUSALS).  A
report is ok iff nothing failed or erred and something passed.
"""
from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, NamedTuple, Optional

from .. import lifecycle, naming, pipeline, state
from ..checks import capture_text, pings
from ..errors import CloudnetError
from ..kernel import ns
from ..verdict import Sent, Status, counts, outcome, result
from . import qos
from .model import REFUSALS, Check, Scenario, Step, load_scenario

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


def _no_namespace(w: World, nodes) -> list[str]:
    """The nodes among NODES whose namespace does not exist (a sender that cannot send)."""
    return [n for n in dict.fromkeys(nodes) if n != "root" and not ns.exists(w.netns(n))]


class Judged(NamedTuple):
    status: Status
    detail: str
    evidence: dict = {}


def _reach(w: World, body) -> Judged:
    pairs = [(s, d) for s in _names(body.src) for d in _names(body.to) if s != d]
    dead = _no_namespace(w, [s for s, _ in pairs])
    if dead:
        return Judged(Status.ERROR, f"sender(s) could not send: no namespace for {', '.join(dead)}")
    got = _reach_all(w, pairs)
    detail = ", ".join(f"{s}->{d} {'reply' if v else 'no reply'}" for (s, d), v in got.items())
    sent = [asdict(Sent(s, f"ICMP echo to {d} ({w.address(d)})", 1)) for s, d in pairs]
    return Judged(Status.PASS if all(got.values()) else Status.FAIL, detail, {"sent": sent})


def _tenant_of(w: World, node: str) -> Optional[str]:
    info = w.record["info"]
    vm = w.cloud.data["vms"].get(node)
    if vm is not None:
        return vm.get("tenant") or w.cloud.data.get("vpcs", {}).get(vm["vpc"], {}).get("tenant")
    for site, m in info.get("sites", {}).items():
        if node == site or node in m["hosts"]:
            return m["tenant"]
    return None


def _tenant_addresses(w: World, tenant: Optional[str]) -> set[str]:
    if tenant is None:
        return set()
    out = set()
    for site, m in w.record["info"].get("sites", {}).items():
        if m["tenant"] == tenant:
            out |= set(m["hosts"].values()) | {m["gateway"]}
    out |= {vm["ip"] for vm in w.cloud.vms() if _tenant_of(w, vm["name"]) == tenant}
    return out


def _isolated(w: World, body) -> Judged:
    """Judged where a leak would land (isolation.py): watchers in every namespace of every other
    tenant, each proven live by its control; a reply is a leak only where the address does not also
    exist in the sender's own tenant."""
    from .. import isolation
    probes = []
    for s in _names(body.src):
        tenant = _tenant_of(w, s)
        own = _tenant_addresses(w, tenant)
        for d in _names(body.to):
            if s != d:
                addr = w.address(d)
                probes.append(isolation.Probe(s, addr, tenant, f"{s} -> {d}", reply_is_leak=addr not in own))
    verdicts = isolation.run(w.testbed, probes, isolation.watchers(w.testbed))
    worst = next((st for st in (Status.ERROR, Status.FAIL) if any(v.status is st for v in verdicts)), Status.PASS)
    shown = [v for v in verdicts if v.status is worst] or verdicts
    detail = "; ".join(f"{v.name}: {v.status} ({v.reason})" for v in shown)
    if worst is Status.PASS:
        detail = f"{len(verdicts)} probe(s), each: {verdicts[0].reason}" if verdicts else "no probes"
    return Judged(worst, detail, {"verdicts": [v.to_dict() for v in verdicts]})


def _route(w: World, body) -> Judged:
    node = body.node
    argv = ["ip", "-n", w.netns(body.node), "route", "show", body.dst]
    if body.vrf:     # the tenant's VRF on that router, whichever way it is realized
        place = w.vrf(body.node, body.vrf)
        node = place["node"]
        argv = ["ip", "-n", w.netns(place["node"]), "route", "show"] + \
            (["table", str(place["table"])] if place["table"] else []) + [body.dst]
    if _no_namespace(w, [node]):
        return Judged(Status.ERROR, f"no namespace for {node}: cannot look up its routes")
    res = ns.run(argv, check=False)
    if res.returncode != 0:
        return Judged(Status.ERROR, f"`{' '.join(argv)}` failed: {(res.stderr or res.stdout).strip()[:200]}")
    out = res.stdout.strip()
    return Judged(Status.PASS if out else Status.FAIL, out or f"no route to {body.dst} on {node}")


def _garp(w: World, body) -> Judged:
    seen = w.migrations.get(body.vm, {}).get("sniffed", {}).get(body.at)
    if seen is None:
        return Judged(Status.ERROR, f"no sniffer listened at {body.at} during {body.vm}'s last migration")
    detail = f"{len(seen)} gratuitous ARP(s) from {body.vm} seen at {body.at}" + (
        f", first {seen[0]['time'] - w.migrations[body.vm]['times']['resume']:.3f} s after resume" if seen else "")
    return Judged(Status.PASS if seen else Status.FAIL, detail)


def _tcp(w: World, body) -> Judged:
    tcp = w.migrations.get(body.vm, {}).get("tcp")
    if tcp is None:
        return Judged(Status.ERROR, f"no TCP connection was held across {body.vm}'s last migration")
    resume = w.migrations[body.vm]["times"]["resume"]
    after = [e for e in tcp["echoes"] if e[1] > resume and e[2]]
    detail = (f"{len(tcp['echoes'])} echoes on one connection, {len(after)} after resume"
              + (f"; error {tcp['error']}" if tcp["error"] else ""))
    if not tcp["echoes"] and tcp["error"]:
        return Judged(Status.ERROR, f"the TCP connection never carried data: {tcp['error']}")
    return Judged(Status.PASS if tcp["error"] is None and after else Status.FAIL, detail)


def _attack(w: World, body) -> Judged:
    from .. import attack
    results = attack.run(w.testbed, body.cases)
    statuses = [r.status for r in results]
    worst = next((st for st in (Status.ERROR, Status.FAIL, Status.PASS) if st in statuses), Status.NOT_CHECKED)
    detail = "; ".join(f"{r.case}: sent {r.sent}, leaked {r.leaked}, {r.status} ({r.reason})" for r in results)
    return Judged(worst, detail, {"cases": [r.to_verdict().to_dict() for r in results]})


def _check_name(c: Check) -> str:
    body = getattr(c, c.kind)
    if c.name:
        return c.name
    if c.kind in ("reach", "isolated"):
        return f"{c.kind} {','.join(_names(body.src))} -> {','.join(_names(body.to))}"
    if c.kind == "encap":
        what = (f"VLAN {body.vlan}" if body.vlan else f"VNI {body.vni}" if body.vni is not None else
                f"VPN {body.vpn}" if body.vpn else f"MPLS {body.mpls if body.mpls is not True else ''}".strip())
        return f"encap {what} on {body.link} for {body.src} -> {body.to}"
    if c.kind == "route":
        return f"route {body.dst} on {body.node}" + (f" vrf {body.vrf}" if body.vrf else "")
    if c.kind == "fdb":
        return f"fdb {body.mac} on {body.bridge}" + (f" at {body.port}" if body.port else "")
    if c.kind == "garp":
        return f"gratuitous ARP of {body.vm} seen at {body.at}"
    if c.kind == "flow":
        return f"flow {body.src} -> {body.to} {body.proto}" + (f"/{body.port}" if body.port else "") + (
            " both ways" if body.both else "")
    if c.kind == "attack":
        return f"attack {', '.join(body.cases or ['(all cases)'])}"
    if c.kind == "throughput":
        return f"throughput {body.src} -> {body.to}" + (f" under reservation {body.reservation}"
                                                        if body.reservation else "")
    if c.kind == "latency":
        return f"latency {body.src} -> {body.to}"
    return f"TCP connection to {body.vm} survives its migration"


KIND_LABEL = {"reach": "reachability", "isolated": "isolation", "encap": "encapsulation", "route": "state",
              "fdb": "state", "garp": "packets", "flow": "access", "throughput": "performance",
              "latency": "performance", "attack": "isolation", "tcp": "continuity"}


def _judge(w: World, c: Check) -> Judged:
    body = getattr(c, c.kind)
    if c.kind == "reach":
        return _reach(w, body)
    if c.kind == "isolated":
        return _isolated(w, body)
    if c.kind == "encap":
        return _encap(w, body)
    if c.kind == "route":
        return _route(w, body)
    if c.kind == "fdb":
        return _fdb(w, body)
    if c.kind in ("throughput", "latency"):
        status, detail = getattr(qos, c.kind)(w, body)
        return Judged(status, detail)
    if c.kind == "garp":
        return _garp(w, body)
    if c.kind == "flow":
        from ..acl.flow import run_flow
        v = run_flow(w, body, c.expect)
        return Judged(v.status, v.reason, {"sent": [asdict(x) for x in v.sent], "counters": v.counters})
    if c.kind == "attack":
        return _attack(w, body)
    return _tcp(w, body)


def run_check(w: World, c: Check) -> dict:
    """One check: its status (pass/fail/error/not checked, with the evidence), and `ok` from
    verdict.outcome(status, expect).  A check that raises is an error, never ok (not even under
    `expect: fail`): a crash is not evidence of anything."""
    try:
        w.refresh()
        j = _judge(w, c)
    except CloudnetError as exc:
        j = Judged(Status.ERROR, f"could not run: {exc}")
    except Exception as exc:     # noqa: BLE001 -- a crash in a check is reported as its error, never a pass
        j = Judged(Status.ERROR, f"crashed: {type(exc).__name__}: {exc}")
    return {"name": _check_name(c), "kind": KIND_LABEL[c.kind], "check": c.kind, "expected": c.expect,
            "status": str(j.status), "ok": outcome(j.status, c.expect), "result": str(result(j.status, c.expect)),
            "detail": j.detail[:500], "evidence": j.evidence}


def _encap(w: World, e) -> Judged:
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
    dead = _no_namespace(w, [e.src] + ([node] if node != "root" else []))
    if dead:
        return Judged(Status.ERROR, f"no namespace for {', '.join(dead)}: cannot send or capture")
    if e.vlan:
        bpf = f"vlan {e.vlan}"
    elif e.vni is not None:
        bpf = "udp port 4789"
    else:
        bpf = "mpls"
    replies = {}

    def traffic():
        replies["first"] = _reach_all(w, [(e.src, e.to)])[(e.src, e.to)]
        replies["more"] = pings(w.testbed, [(e.src, w.address(e.to))], count=3)[(e.src, w.address(e.to))]
    text = capture_text(w.netns(node), iface, bpf, traffic, timeout=3)
    proven = any(replies.values())       # the traffic under test was sent and answered
    sent = [asdict(Sent(e.src, f"ICMP echo to {e.to}, answered" if proven else f"ICMP echo to {e.to}, unanswered",
                        4))]
    if not text:
        if proven:
            return Judged(Status.FAIL, f"nothing matching `{bpf}` on {e.link}, though {e.src} -> {e.to} got replies "
                          "(the traffic does not cross this link, or not so encapsulated)", {"sent": sent})
        return Judged(Status.ERROR, "nothing captured (is the link carrying traffic?): "
                      f"{e.src} -> {e.to} got no reply either", {"sent": sent})
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
    return Judged(Status.PASS if ok else Status.FAIL, text, {"sent": sent})


def _fdb(w: World, f) -> Judged:
    mac = w.mac(f.mac)
    if ":" in f.bridge and not f.bridge.startswith("cnb-"):   # NODE:BRIDGE, a Linux bridge (VPLS instance)
        node, br = f.bridge.split(":", 1)
        res = ns.run(["bridge", "-n", w.netns(node), "fdb", "show", "br", br], check=False)
        rows = [l for l in res.stdout.splitlines() if l.startswith(mac)]
        port = rows[0].split(" dev ")[1].split()[0] if rows else None
    else:
        br = f.bridge if f.bridge.startswith("cnb-") else naming.bridge(f.bridge)
        res = ns.run(["ovs-appctl", "fdb/show", br], check=False)
        names = _ofports(br)
        rows = [l for l in res.stdout.splitlines() if mac in l]
        port = names.get(rows[0].split()[0]) if rows else None
    if res.returncode != 0:
        return Judged(Status.ERROR, f"cannot read the FDB of {f.bridge}: {(res.stderr or res.stdout).strip()[:200]}")
    if not rows:
        return Judged(Status.FAIL, f"{mac} not in the FDB of {f.bridge}")
    want = _port_name(w, f)
    ok = want is None or port == want
    return Judged(Status.PASS if ok else Status.FAIL,
                  f"{mac} at port {port}" + (f" (expected {want})" if want and not ok else ""))


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
    from ..migration.measure import metrics, outage, timeline
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
        result["outage"] = outage(probed, m.pause_ms, result["times"])
    w.migrations[m.vm] = {**result, "sniffed": seen, "tcp": held}
    n = sum(1 for k in w.metrics if k.startswith("migration_total_ms")) + 1
    w.metrics[f"migration_total_ms.{n}"] = result["total_ms"]
    w.metrics[f"migration_pause_ms.{n}"] = result["pause_ms"]
    w.metrics[f"migration_precopy_bytes.{n}"] = result["precopy_bytes"]
    w.metrics[f"migration_precopy_ms.{n}"] = result["phases_ms"]["precopy"]
    if probed:
        w.metrics.update(metrics(result["outage"], n))
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


def _act(w: World, step: Step) -> tuple[list, str]:
    """Do a step's action; (phases, detail).  Raises what the managers raise when they refuse."""
    phases, detail = [], ""
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
        from ..migration.measure import loss_text
        res = _migrate(w, step.migrate)
        phases = [{"name": k, "duration_ms": v} for k, v in res["phases_ms"].items()]
        detail = (f"{res['vm']} {res['from']} -> {res['to']} in {res['total_ms']:.0f} ms, "
                  f"pre-copy {res['precopy_bytes'] >> 20} MB at {res['precopy_mbit_s']} Mbit/s, "
                  f"pause {res['pause_ms']:.0f} ms" + (f"; {loss_text(res['outage'])}" if "outage" in res else ""))
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
    return phases, detail


def _refusal_kind(exc: BaseException) -> Optional[str]:
    return next((k for k, cls in REFUSALS.items() if isinstance(exc, cls)), None)


def run_step(w: World, step: Step) -> dict:
    """One step.  An action step that succeeds is pass; one the managers refuse (a CloudnetError) is
    fail; a crash is error.  `expect: {fail: KIND}` is ok iff the step was refused with exactly that
    refusal (model.REFUSALS): its success, another refusal or a crash is red and says what happened.
    A check step is its check's verdict."""
    t0 = time.perf_counter()
    phases, check = [], None
    refusal = step.refusal
    if step.check is not None:
        check = run_check(w, step.check)
        status, ok, res, detail = Status(check["status"]), check["ok"], check["result"], check["detail"]
    else:
        try:
            phases, detail = _act(w, step)
            status = Status.PASS
            if refusal:
                detail = f"expected a {refusal} refusal, but the step succeeded: {detail}"
        except CloudnetError as exc:
            kind = _refusal_kind(exc)
            status = Status.FAIL if refusal is None or kind == refusal else Status.ERROR
            detail = f"refused ({kind or type(exc).__name__}): {exc}"
            if refusal and kind != refusal:
                detail = f"expected a {refusal} refusal, got {type(exc).__name__}: {exc}"
        except Exception as exc:     # noqa: BLE001 -- a crash is this step's error, never an expected refusal
            status, detail = Status.ERROR, f"crashed: {type(exc).__name__}: {exc}"
        expect = "fail" if refusal else "pass"
        ok, res = outcome(status, expect), str(result(status, expect))
    name = step.name or (check["name"] if check else _default_name(step, detail))
    return {"name": name, "action": step.action, "status": str(status), "ok": ok, "result": res,
            "expected": check["expected"] if check else step.expect_text,
            "duration_ms": round((time.perf_counter() - t0) * 1000, 2), "phases": phases, "detail": detail[:500],
            "_check": check}


def verdict_ok(c: dict[str, int]) -> bool:
    """A scenario is ok iff nothing failed or erred and at least one thing passed: a run where every
    check was "not checked" is no evidence."""
    return c["fail"] == 0 and c["error"] == 0 and c["pass"] > 0


def tally(report: dict) -> dict[str, int]:
    """Counts of results (pass/fail/error/not checked, expect applied) over a report's action steps
    and its checks (a check step is counted once, as its check)."""
    entries = [s for s in report["steps"] if s["action"] != "check"] + report["checks"]
    return counts(e["result"] for e in entries)


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
            progress(f"step {i + 1}/{len(sc.steps)} {result['action']}: {result['result']} "
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
            res = run_check(w, c)
            progress(f"check {res['name'][:70]}: {res['result']}")
            checks.append(res)
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
        "scenario": sc.name, "topology": topo_path,
        "realization": {**record["realizations"], "degradations": record.get("degradations", [])},
        "steps": steps, "checks": checks, "metrics": metrics,
    }
    report["counts"] = tally(report)
    report["ok"] = verdict_ok(report["counts"])
    if report_dir:
        from .report import write
        write(report, report_dir)
    return report
