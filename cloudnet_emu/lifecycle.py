"""Up, down and clean: the testbed's life, with rollback and ownership rules.

`up` records what it is about to build before building it, and tears everything
down again if anything fails or the user presses Ctrl-C.  `down` removes one
testbed's objects; `clean` removes every object carrying our marks (see naming.py)
that no live `up` is still building, and nothing else.
"""
from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager
from typing import Callable, Optional

from . import naming, state
from .errors import StateError
from .kernel import ns, ovs
from .plan.actions import OvsBridge, Plan, Veth
from .realize import edge_filter, frr
from .realize.apply import apply_plan

Progress = Callable[[str], None]


def _pid_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
        return True
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True


def _objects(plan: Plan) -> dict:
    return {
        "namespaces": [naming.netns(plan.testbed, n.name) for n in plan.nodes],
        "ovs_bridges": [a.name for a in plan.of(OvsBridge)],
        "root_devs": [a.a_if for a in plan.of(Veth) if a.a_node is None]
        + [a.b_if for a in plan.of(Veth) if a.b_node is None],
    }


def _collisions(plan: Plan, objects: dict) -> list[str]:
    problems = []
    existing_ns = set(ns.listing())
    for name in objects["namespaces"]:
        if name in existing_ns:
            problems.append(f"namespace {name} already exists")
    owned = ovs.owned_bridges()
    for br in objects["ovs_bridges"]:
        if br in owned:
            problems.append(f"OVS bridge {br} belongs to testbed {owned[br]!r}")
    for dev in objects["root_devs"]:
        if os.path.exists(f"/sys/class/net/{dev}"):
            problems.append(f"interface {dev} already exists in the root namespace")
    return problems


@contextmanager
def sigterm_as_interrupt():
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def up(plan: Plan, topology_file: str, progress: Progress = lambda s: None) -> dict:
    testbed = plan.testbed
    with state.locked(testbed):
        current = state.read(testbed)
        if current is not None:
            if current.get("status") == "up":
                raise StateError(f"testbed {testbed!r} is already up (since {current.get('started')}): "
                                 f"use it (`cloudnet-emu inspect {testbed}`), or take it down first "
                                 f"(`sudo cloudnet-emu down {testbed}`)")
            # A previous up crashed half-way: take its remains away first.
            progress("removing the remains of an interrupted run")
            teardown(testbed, current)
        objects = _objects(plan)
        clash = _collisions(plan, objects)
        if clash:
            raise StateError("cannot build: " + "; ".join(clash)
                             + ". Another testbed or a crashed run holds them: `cloudnet-emu inspect`, "
                               "`cloudnet-emu down NAME` or `cloudnet-emu clean`")
        state.forget_remains(testbed)      # nothing of ours runs now: what the directory holds is stale
        record = {"testbed": testbed, "topology": os.path.abspath(topology_file), "status": "building",
                  "pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%S"), **objects,
                  "realizations": plan.realizations, "degradations": plan.degradations, "info": plan.info,
                  "nodes": [{"name": n.name, "kind": n.kind, "netns": naming.netns(testbed, n.name),
                             "site": n.site, "tenant": n.tenant, "loopback": n.loopback} for n in plan.nodes]}
        state.write(testbed, record)
        try:
            with sigterm_as_interrupt():
                apply_plan(plan, progress)
                edge_filter.apply(testbed, plan.world)
                if plan.world.control.realization == "bgp":
                    record["control"] = frr.converge(testbed, plan.world.control, progress=progress)
        except BaseException:
            progress("failed or interrupted: rolling back")
            teardown(testbed, record)
            state.remove(testbed)
            raise
        record["status"] = "up"
        state.write(testbed, record)
        return record


def teardown(testbed: str, record: dict | None, progress: Progress = lambda s: None) -> dict:
    """Remove one testbed's objects: those recorded, and any stragglers with its marks.  The
    seconds each phase took, by name (PROGRESS is told each phase as it starts)."""
    record = record or {}
    phases: dict[str, float] = {}
    mark = [None, time.perf_counter()]

    def phase(name: Optional[str]):
        now = time.perf_counter()
        if mark[0] is not None:
            phases[mark[0]] = round(now - mark[1], 3)
        mark[:] = [name, now]
        if name:
            progress(name)
    phase("routing daemons")
    others = set()
    for name in state.running():
        if name != testbed:
            other = state.read(name) or {}
            others.update(other.get("namespaces", []))
    namespaces = set(record.get("namespaces", []))
    namespaces |= {n for n in ns.listing() if naming.is_ours_netns(n, testbed) and n not in others}
    bridges = set(record.get("ovs_bridges", [])) | set(ovs.owned_bridges(testbed))
    # Routing daemons by their pid files (in our namespaces only) before the namespaces go:
    # a namespace's removal would SIGKILL them without letting them withdraw anything.
    frr.stop_all(testbed)
    frr.release_state_root(testbed)
    phase("Open vSwitch bridges")
    ports = ovs.bridge_ports(bridges)
    # veth ends the managers plugged into our bridges (VM ports, hand-off cables) live in the root namespace
    plugged = [p for b in ports.values() for p in b if naming.ROOT_DEV_RE.match(p)]
    count = sum(map(len, ports.values()))
    # Without waiting: ovs-vswitchd removes the ports (an RCU grace period each, as it closes its
    # socket on the device) while the namespaces go; waited for below.
    ovs.delete_bridges(ports, count, wait=False)
    phase(f"namespaces ({len(namespaces)})")
    # Namespaces before the root links: their veths take the root-namespace peers with them, so only
    # the root-to-root cables (trunks, VPLS hand-offs) are left to delete one by one.
    ns.delete_many(sorted(namespaces))
    phase(f"Open vSwitch ports ({count}) removed")
    if ports:
        ovs.sync(count)
    phase("root links")
    ns.delete_links([d for d in plugged + record.get("root_devs", []) if os.path.exists(f"/sys/class/net/{d}")])
    phase(None)
    return phases


def down(testbed: str, progress: Progress = lambda s: None) -> dict:
    """Take testbed TESTBED down; the seconds each phase of the teardown took."""
    with state.locked(testbed):
        phases = teardown(testbed, state.read(testbed), progress)
        state.remove(testbed)
    return phases


def clean(everything: bool = False) -> dict:
    """Remove every leftover of ours.  Spared unless `everything`: testbeds that are up,
    and testbeds a live process is still building."""
    busy = set()
    for name in state.running():
        rec = state.read(name) or {}
        building = rec.get("status") == "building" and _pid_alive(rec.get("pid")) and rec.get("pid") != os.getpid()
        if not everything and (building or rec.get("status") == "up"):
            busy.add(name)
    removed = {"namespaces": [], "ovs_bridges": [], "root_devs": [], "testbeds": []}
    spare_ns = set()
    for name in busy:
        spare_ns.update((state.read(name) or {}).get("namespaces", []))
    for name in state.running():
        if name not in busy:
            frr.stop_all(name)
    bridges = [b for b, owner in ovs.owned_bridges().items() if owner not in busy]
    ovs.delete_bridges(bridges, sum(map(len, ovs.bridge_ports(bridges).values())))
    removed["ovs_bridges"] = bridges
    for name in ns.listing():
        if naming.is_ours_netns(name) and name not in spare_ns:
            ns.delete(name)
            removed["namespaces"].append(name)
    spare_devs = set()
    for name in busy:
        spare_devs.update((state.read(name) or {}).get("root_devs", []))
    for dev in sorted(os.listdir("/sys/class/net")):
        if naming.ROOT_DEV_RE.match(dev) and dev not in spare_devs:
            ns.run(["ip", "link", "del", dev], check=False)
            removed["root_devs"].append(dev)
    for name in state.running():
        if name not in busy:
            state.remove(name)
            removed["testbeds"].append(name)
    frr.release_state_root("")
    return removed
