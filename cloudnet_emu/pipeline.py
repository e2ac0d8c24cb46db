"""The pipeline, start to end: the table of contents of cloudnet-emu.

    YAML file --load--> Topology --choose--> realizations --plan--> Plan
              --realize--> kernel + OVS --check--> verdicts --report--> terminal / JSON

Every command of the CLI is one of these steps or a run of several of them.
"""
from __future__ import annotations

from typing import Callable, Optional

from . import checks, lifecycle, probe, state
from .managers import of_testbed, port_security
from .plan.build import build_plan
from .plan.choose import choose, parse_forced
from .realize.apply import kept_handles
from .errors import Problem, SpecError
from .scenario.model import load_scenario
from .spec.load import is_scenario, load_topology
from .spec.model import Topology
from .verdict import Verdict

Progress = Callable[[str], None]


def load(path: str) -> Topology:
    """1. Read and validate the description (SpecError: every problem, nothing built)."""
    return load_topology(path)


def validate(paths) -> list[Problem]:
    """1 for many files: every problem of every file, topology or scenario (`cloudnet-emu validate`)."""
    problems: list[Problem] = []
    for path in paths:
        try:
            (load_scenario if is_scenario(path) else load_topology)(path)
        except SpecError as exc:
            problems += exc.problems
    return problems


def plan_choice(topo: Topology, realize: Optional[str] = None, degrade: bool = True, features=None):
    """2. The realization of each construct this machine would build TOPO with (probed)."""
    features = features if features is not None else probe.probe()
    return choose(topo, features, parse_forced(realize), degrade)


def plan(topo: Topology, realize: Optional[str] = None, degrade: bool = False, features=None):
    """2-3. Choose a realization per construct from what the kernel offers, then plan the objects."""
    choice = plan_choice(topo, realize, degrade, features)
    return build_plan(topo, choice)


def up(path: str, realize: Optional[str] = None, degrade: bool = False,
       progress: Progress = lambda s: None) -> dict:
    """4. Realize: load, plan, build, attach the topology's VMs (all rolled back on failure or Ctrl-C)."""
    topo = load(path)
    the_plan = plan(topo, realize, degrade)
    record = lifecycle.up(the_plan, path, progress)
    vms = [(vpc.name, vm) for vpc in topo.vpcs for vm in vpc.vms]
    vpls = [vpc.name for vpc in topo.vpcs if vpc.type == "vpls"]
    if vms or topo.reservations or vpls:
        progress(f"provisioning {len(vpls)} VPLS VPCs' enterprise sides, attaching {len(vms)} VMs "
                 f"(Figure 2's four steps each), admitting {len(topo.reservations)} reservations")
        try:
            with lifecycle.sigterm_as_interrupt():
                cloud, network = managers(record["testbed"])
                # one OVS transaction for all, the managers' unit files written once at the end, and the
                # netlink handles of the namespaces every attach touches (routers, PEs) opened once for all
                with cloud.ledger.bulk(), network.ledger.units.held(), kept_handles():
                    for vpc in vpls:
                        network.provision({"vpc": vpc})
                    for vpc, vm in vms:
                        cloud.attach(vpc, site=vm.site, server=vm.server, vcpus=vm.vcpus, mem_mb=vm.mem_mb,
                                     ip=vm.ip, mac=vm.mac, name=vm.name)
                port_security.secure_all(cloud)       # OpenFlow rules need the ports: after the bulk
                for r in topo.reservations:
                    cloud.reserve(r.name, r.vpc, **r.spec())
        except BaseException:
            progress("failed or interrupted: rolling back")
            lifecycle.down(record["testbed"])
            raise
    return record


def managers(testbed: Optional[str] = None):
    """The Cloud Manager and Network Manager of a running testbed (joined by a data-only channel)."""
    return of_testbed(testbed)


def check(testbed: Optional[str] = None) -> list[Verdict]:
    """5. Check a running testbed with real traffic."""
    name = state.resolve(testbed)
    return checks.all_checks(name, state.read(name))


def down(testbed: Optional[str] = None, progress: Callable[[str], None] = lambda s: None) -> tuple[str, dict]:
    """6. Tear down: the testbed's name and the seconds each phase took."""
    name = state.resolve(testbed)
    return name, lifecycle.down(name, progress)
