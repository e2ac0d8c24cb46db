import fcntl
import os
import shutil

import pytest

from cloudnet_emu import lifecycle, pipeline, state
from cloudnet_emu.kernel import ovs
from tests.conftest import FULL_KERNEL

TOPO = "topologies/cloudnet.yaml"


def pytest_collection_modifyitems(config, items):
    reasons = []
    if os.geteuid() != 0:
        reasons.append("needs root")
    elif not ovs.available()[0]:
        reasons.append("needs a running Open vSwitch (./setup.sh starts it)")
    if reasons and items:
        # A tier that skips every test would be a silent pass: refuse to run instead.
        raise pytest.UsageError("integration tests cannot run here: " + "; ".join(reasons)
                                + " (sudo ./setup.sh test-native sets up and runs them; "
                                "tests/unit runs without root)")
    for item in items:
        item.add_marker(pytest.mark.root)


ROOT_LOCK = "/run/lock/cloudnet-emu-root-tests.lock"


@pytest.fixture(scope="session", autouse=True)
def machine_lock():
    """One root test session at a time on a machine: the clean-machine guard diffs global state
    (netns, links, OVS bridges), which a second session (or `flock ROOT_LOCK cmd`) would disturb."""
    os.makedirs(os.path.dirname(ROOT_LOCK), exist_ok=True)
    with open(ROOT_LOCK, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def cli():
    path = shutil.which("cloudnet-emu") or os.path.join(os.path.dirname(os.sys.executable), "cloudnet-emu")
    assert os.path.exists(path), "cloudnet-emu is not installed in this environment"
    return path


def pinned(request) -> str | None:
    """--realize text for the control plane a test pins with @pytest.mark.control("static") (on the
    test, its module's pytestmark or its class); None: the machine's default (bgp where FRR runs
    over the VXLAN core).  Tests pin `static` where what they sabotage or measure is the planner's
    world: a deleted route that zebra would put back, the attack suite's static edge defences."""
    marker = request.node.get_closest_marker("control")
    return f"control={marker.args[0]}" if marker else None


@pytest.fixture
def testbed(clean_machine, request):
    """Figure 1 up for one test (degraded where the kernel lacks netem), down afterwards."""
    record = pipeline.up(TOPO, pinned(request), degrade=not FULL_KERNEL)
    try:
        yield record
    finally:
        lifecycle.down(record["testbed"])
    assert state.read(record["testbed"]) is None


@pytest.fixture(scope="module")
def figure1(clean_module, request):
    """One Figure 1 testbed shared by the read-only tests of a module."""
    record = pipeline.up(TOPO, pinned(request), degrade=not FULL_KERNEL)
    try:
        yield record
    finally:
        lifecycle.down(record["testbed"])
