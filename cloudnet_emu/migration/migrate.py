"""Live migration of a VM between cloud sites, as in Figure 3, measured.

Every step that changes the network is the Cloud Manager's (managers/moving.py), asked for here
with plain data (a MoveRequest dict in, a MovePlan dict out and handed back); this module runs
the phases, their timing and their traffic, and imports nothing of the managers.

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
import sys
import time
from typing import Optional

from .. import naming
from ..errors import StateError
from ..kernel import ns
from ..kernel.exec import DEVNULL, PIPE, finish, spawn

ANNOUNCE_MS = (0, 50, 150, 250, 350)     # delays between rounds, like QEMU's announce (initial 50, step 100)
PRECOPY_PORT = 7471


ARP_ROLES = ("garp", "sniff")             # agent_arp.py's (scapy); the others are agent.py's


class Agent:
    """A cloudnet_emu.migration.agent (or .agent_arp) program running inside a namespace."""

    def __init__(self, netns: Optional[str], role: str, *args, ready: bool = False, stdin: bool = False):
        module = "cloudnet_emu.migration.agent_arp" if role in ARP_ROLES else "cloudnet_emu.migration.agent"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.proc = spawn([sys.executable, "-m", module, role, *map(str, args)], netns, env=env,
                          stdin=PIPE if stdin else DEVNULL)
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
        out, err = finish(self.proc, timeout)
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
    each phase, so a reader of cloud/data.json such as `cloudnet-emu web` sees the phases live).

    `cloud` is the Cloud Manager: every change of its state or the network is one of its steps
    (managers/moving.py), asked for with plain data; what runs here is the migration's traffic."""
    try:
        return _migrate(cloud, name, to_site, to_server, pause_ms, garp, policy)
    finally:
        cloud.move_end(name)


def _migrate(cloud, name: str, to_site: str, to_server: Optional[str], pause_ms: float,
             garp: bool, policy: Optional[str]) -> dict:
    # Capacity and reservations first: a refused migration leaves the VM where it was, untouched.
    plan = cloud.move_plan({"vm": name, "to_site": to_site, "to_server": to_server, "policy": policy})
    times: dict[str, float] = {"start": time.time()}
    phases: dict[str, float] = {}
    # 1. prepare: destination VLAN, logical CE and VPN endpoint (the Cloud Manager asks the Network Manager)
    t = time.perf_counter()
    plan = cloud.move_prepare(plan)
    phases["prepare"] = time.perf_counter() - t
    vm_ns = naming.netns(cloud.testbed, name)
    # the announcer loads scapy while the memory is copied, to speak right after the resume
    announcer = Agent(vm_ns, "garp", "eth0", plan["ip"], plan["mac"], ",".join(map(str, ANNOUNCE_MS)),
                      stdin=True) if garp else None
    try:
        cloud.move_phase(plan, "precopy")
        sent, got = _precopy(cloud.testbed, plan, phases, times)
    except BaseException:
        if announcer is not None:
            announcer.kill()
        raise
    _stop_and_copy(cloud, plan, vm_ns, announcer, pause_ms, phases, times)
    cloud.move_phase(plan, "announce")
    t = time.perf_counter()
    sent_garps = []
    if announcer is not None:
        announcer.go()
        sent_garps = announcer.result(timeout=10)["sent"]
    phases["announce"] = time.perf_counter() - t
    times["end"] = time.time()
    followed = cloud.move_finish(plan)
    return {"vm": name, "from": f"{plan['src_site']}/{plan['src_server']}",
            "to": f"{plan['dst_site']}/{plan['dst_server']}", "vlan": plan["vlan"],
            "phases_ms": {k: round(v * 1000, 2) for k, v in phases.items()},
            "total_ms": round((times["end"] - times["start"]) * 1000, 2),
            "precopy_bytes": got["bytes"], "precopy_s": round(sent["seconds"], 3),
            "precopy_mbit_s": round(got["bytes"] * 8 / max(sent["seconds"], 1e-9) / 1e6, 1),
            "pause_ms": round((times["resume"] - times["pause"]) * 1000, 2), "garp": garp, "garps_sent": sent_garps,
            **followed, "times": times}


def _precopy(testbed: str, plan: dict, phases: dict, times: dict) -> tuple[dict, dict]:
    """Pre-copy: the VM's memory across the WAN, from the source site's CE router to the destination's;
    (what the source sent, what the sink got)."""
    t = time.perf_counter()
    times["precopy_start"] = time.time()
    sink = Agent(naming.netns(testbed, plan["dst_site"]), "sink", PRECOPY_PORT, ready=True)
    try:
        sent = Agent(naming.netns(testbed, plan["src_site"]), "source", plan["precopy_to"], PRECOPY_PORT,
                     plan["mem_mb"] * 2 ** 20).result()
        got = sink.result(timeout=30)
    finally:
        sink.kill()
    phases["precopy"] = time.perf_counter() - t
    times["precopy_end"] = time.time()
    return sent, got


def _stop_and_copy(cloud, plan: dict, vm_ns: str, announcer: Optional[Agent], pause_ms: float, phases: dict,
                   times: dict) -> None:
    """Freeze the VM's processes (not the announcer), let the Cloud Manager re-home its port and move
    its host route, hold the pause to `pause_ms`, continue."""
    if announcer is not None:
        announcer.wait_ready()
    pids = [p for p in ns.pids(vm_ns) if announcer is None or p not in _tree(announcer.proc.pid)]
    cloud.move_phase(plan, "pause")
    t = time.perf_counter()
    times["pause"] = time.time()
    _signal_all(pids, signal.SIGSTOP)
    try:
        cloud.move_switch(plan)
        rest = pause_ms / 1000 - (time.perf_counter() - t)
        if rest > 0:
            time.sleep(rest)
    finally:
        _signal_all(pids, signal.SIGCONT)
    times["resume"] = time.time()
    phases["pause"] = time.perf_counter() - t


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
