"""Live migration of a VM between cloud sites, as in Figure 3, measured.

    1 prepare    Cloud Manager: the VPC's VLAN (and logical CE) at the destination site;
                 Network Manager: the VPLS instance extended to the destination PE
                 (L3VPN: the tenant's VRF there), the four attach steps' machinery reused
    2 precopy    the VM's memory (mem_mb) sent as a real TCP stream between the two sites'
                 CE routers, across the provider core: link bandwidth shapes the time
    3 pause      stop-and-copy: the VM's processes SIGSTOPped; its port (cnv-<vm>, same veth,
                 same MAC and IP) re-homed from the source server's bridge to the
                 destination server's, on the destination VLAN; L3VPN: its host route moves
                 to the destination PE; then the processes continue
    4 announce   gratuitous ARP from the VM (QEMU-style rounds) so that the switches and the
                 VPLS learn where the MAC went

The VM's namespace never goes away: its processes and TCP connections survive.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Optional

from .. import naming
from ..errors import CloudnetError, PlacementError, StateError
from ..kernel import ns, ovs
from ..managers import port_security, reserving
from ..plan.actions import OvsPort, to_json

ANNOUNCE_MS = (0, 50, 150, 250, 350)     # delays between rounds, like QEMU's announce (initial 50, step 100)
PRECOPY_PORT = 7471


class Agent:
    """A cloudnet_emu.migration.agent program running inside a namespace."""

    def __init__(self, netns: Optional[str], role: str, *args, ready: bool = False, stdin: bool = False):
        argv = [sys.executable, "-m", "cloudnet_emu.migration.agent", role, *map(str, args)]
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                     stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
        self.role, self.netns = role, netns
        if ready:
            self.wait_ready()

    def wait_ready(self):
        line = self.proc.stdout.readline().strip()
        if line not in ("ready", "connected"):
            err = self.proc.stderr.read()
            raise StateError(f"{self.role} agent in {self.netns} did not start: {line} {err[-300:]}")

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def result(self, timeout: float = 120, stop: bool = False) -> dict:
        if stop:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        lines = [l for l in out.splitlines() if l.startswith("{")]
        if not lines:
            raise StateError(f"agent {self.proc.args[-4:]} gave no result: {err[-400:]}")
        return json.loads(lines[-1])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def _signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def migrate(cloud, name: str, to_site: str, to_server: Optional[str] = None, pause_ms: float = 50,
            garp: bool = True, policy: Optional[str] = None) -> dict:
    """Move VM `name`; while it moves, its record carries `migration: {phase, to}` (saved at
    each phase, so a reader of cloud/data.json such as `cloudnet-emu web` sees the phases live)."""
    try:
        return _migrate(cloud, name, to_site, to_server, pause_ms, garp, policy)
    finally:
        vm = cloud.data["vms"].get(name)
        if vm is not None and vm.pop("migration", None) is not None:
            cloud.ledger.save()


def _phase(cloud, vm: dict, phase: str, to: str) -> None:
    vm["migration"] = {"phase": phase, "to": to}
    cloud.ledger.save()


def _migrate(cloud, name: str, to_site: str, to_server: Optional[str], pause_ms: float,
             garp: bool, policy: Optional[str]) -> dict:
    vm = cloud.data["vms"].get(name)
    if vm is None:
        raise StateError(f"no VM {name!r}; VMs: {', '.join(cloud.data['vms']) or 'none'}")
    src_site, src_server, vpc = vm["site"], vm["server"], vm["vpc"]
    if to_site == src_site and to_server in (None, src_server):
        raise PlacementError(f"{name} is already in {src_site} on {src_server}: name another site or server")
    # Capacity first: a refused migration leaves the VM where it was, untouched.
    vm["vcpus_held"], vm["vcpus"] = vm["vcpus"], 0          # do not count the VM against itself
    mem = vm["mem_mb"]
    vm["mem_mb"] = 0
    try:
        dst_server = cloud.place(vpc, to_site, to_server, vm["vcpus_held"], mem,
                                 policy or cloud.vpc(vpc).get("placement") or "first-fit")
    finally:
        vm["vcpus"], vm["mem_mb"] = vm.pop("vcpus_held"), mem
    reserving.follow(cloud, name, to_site, dry_run=True)     # its reservations must fit on the new path
    vm_ns = naming.netns(cloud.testbed, name)
    times: dict[str, float] = {"start": time.time()}
    phases: dict[str, float] = {}

    # 1. prepare: destination VLAN endpoint (Cloud Manager) and VPN extension (Network Manager)
    dest = f"{to_site}/{dst_server}"
    _phase(cloud, vm, "prepare", dest)
    t = time.perf_counter()
    vlan = cloud._vlan(to_site, vpc)
    lce = f"lce:{to_site}/{vpc}"
    if cloud.ledger.has(lce):
        cloud.ledger.use(lce, name)
    else:
        handoff = cloud._logical_ce(vpc, to_site, vlan, vm["gateway"], vm["prefixlen"], name)
        cloud._endpoint(vpc, to_site, vlan, handoff, name)
    phases["prepare"] = time.perf_counter() - t

    # the announcer loads scapy while the memory is copied, to speak right after the resume
    announcer = Agent(vm_ns, "garp", "eth0", vm["ip"], vm["mac"], ",".join(map(str, ANNOUNCE_MS)),
                      stdin=True) if garp else None

    # 2. pre-copy: the VM's memory across the WAN, from the source site's CE router to the destination's
    _phase(cloud, vm, "precopy", dest)
    t = time.perf_counter()
    times["precopy_start"] = time.time()
    dst_wan = cloud.info["clouds"][to_site]["wan"].split("/")[0]
    sink = Agent(naming.netns(cloud.testbed, to_site), "sink", PRECOPY_PORT, ready=True)
    try:
        sent = Agent(naming.netns(cloud.testbed, src_site), "source", dst_wan, PRECOPY_PORT, mem * 2 ** 20).result()
        got = sink.result(timeout=30)
    except BaseException:
        if announcer is not None:
            announcer.kill()
        raise
    finally:
        sink.kill()
    phases["precopy"] = time.perf_counter() - t
    times["precopy_end"] = time.time()

    # 3. stop-and-copy: freeze, re-home the port (same veth, MAC, IP), move the host route, continue
    if announcer is not None:
        announcer.wait_ready()
    pids = [p for p in ns.pids(vm_ns) if announcer is None or p not in _tree(announcer.proc.pid)]
    _phase(cloud, vm, "pause", dest)
    t = time.perf_counter()
    times["pause"] = time.time()
    _signal_all(pids, signal.SIGSTOP)
    try:
        port = vm["port"]
        secure = port_security.enabled(cloud, vm)
        if secure:
            port_security.remove(vm, src_server)
        ovs.vsctl([["--if-exists", "del-port", naming.bridge(src_server), port],
                   ["add-port", naming.bridge(dst_server), port],
                   ["set", "port", port, f"tag={vlan}", f"external_ids:{naming.OVS_OWNER_KEY}={cloud.testbed}",
                    f"external_ids:cloudnet-emu-vm={name}", f"external_ids:cloudnet-emu-vpc={vpc}"]])
        if secure:
            port_security.apply(vm, dst_server)
        _rehome_record(cloud, vm, dst_server, vlan)
        if vm["type"] == "l3vpn" and to_site != src_site:
            cloud._move_host_routes(vm, src_site)
        rest = pause_ms / 1000 - (time.perf_counter() - t)
        if rest > 0:
            time.sleep(rest)
    finally:
        _signal_all(pids, signal.SIGCONT)
    times["resume"] = time.time()
    phases["pause"] = time.perf_counter() - t

    # 4. announce
    _phase(cloud, vm, "announce", dest)
    t = time.perf_counter()
    sent_garps = []
    if announcer is not None:
        announcer.go()
        sent_garps = announcer.result(timeout=10)["sent"]
    phases["announce"] = time.perf_counter() - t
    times["end"] = time.time()

    # the source site lets go of the VPC when its last VM there has left
    if to_site != src_site:
        cloud._leave_site(name, src_site, vpc)
    cloud.ledger.save()
    # the reservations were admitted on the new path before the move; re-realize them there now
    try:
        followed, followed_error = reserving.follow(cloud, name, to_site, dry_run=False), None
    except CloudnetError as exc:         # only if something changed them meanwhile: said, not hidden
        followed, followed_error = [], str(exc)
    return {"vm": name, "from": f"{src_site}/{src_server}", "to": f"{to_site}/{dst_server}", "vlan": vlan,
            "phases_ms": {k: round(v * 1000, 2) for k, v in phases.items()},
            "total_ms": round((times["end"] - times["start"]) * 1000, 2),
            "precopy_bytes": got["bytes"], "precopy_s": round(sent["seconds"], 3),
            "precopy_mbit_s": round(got["bytes"] * 8 / max(sent["seconds"], 1e-9) / 1e6, 1),
            "pause_ms": round((times["resume"] - times["pause"]) * 1000, 2), "garp": garp, "garps_sent": sent_garps,
            "reservations": followed, "reservations_error": followed_error,
            "times": times}


def _tree(pid: int) -> set[int]:
    """pid and its descendants (`ip netns exec` runs the agent as a child)."""
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        out.add(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def _rehome_record(cloud, vm: dict, server: str, vlan: int):
    vm["server"], vm["vlan"] = server, vlan
    vm["site"] = cloud.servers()[server]["site"]
    # the port unit now describes the destination bridge (detach removes it from there)
    cloud.ledger.units[f"port:{vm['name']}"]["actions"] = [
        to_json(OvsPort(naming.bridge(server), vm["port"], tag=vlan, ids=(("vm", vm["name"]), ("vpc", vm["vpc"]))))]
    cloud.ledger.touch(f"port:{vm['name']}")
    cloud.ledger.save()
