"""Shared test fixtures: which tier we are in, and the clean-machine guard."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

FULL_KERNEL = os.environ.get("CLOUDNET_EXPECT_FULL_KERNEL") == "1"


def machine_state() -> dict:
    """What must be the same before and after every kernel test."""
    def out(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout
        except FileNotFoundError:
            return ""
    links = sorted(line.split(":")[1].strip().split("@")[0]
                   for line in out(["ip", "-o", "link"]).splitlines() if ":" in line)
    procs = sorted(_our_processes())
    mounts = sorted(line.split()[4] for line in open("/proc/self/mountinfo") if "/run/netns/" in line.split()[4])
    return {
        "netns": sorted(out(["ip", "netns", "list"]).split()),
        "links": links,
        "ovs_bridges": sorted(out(["ovs-vsctl", "--timeout=5", "list-br"]).split()),
        "qdiscs": sorted(l for l in out(["tc", "qdisc", "show"]).splitlines() if "noqueue" not in l),
        "processes": procs,
        "mounts": mounts,
    }


TOOLS = ("tcpdump", "ping", "iperf3", "mnexec", "arping", "nft", "vtysh", "zebra", "bgpd", "ospfd", "isisd",
         "ldpd", "bfdd", "staticd", "mgmtd", "watchfrr")


def _cmdline(pid: str) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode(errors="replace").strip()


def _another_session(pid: str) -> bool:
    """Is PID a child (at any depth) of a pytest session other than this one?  A unit-test run in
    another checkout starts `python -c "import cloudnet_emu..."`: that is not this session's leftover.
    What a test of ours leaves behind is our child, or an orphan adopted by init."""
    me = str(os.getpid())
    while pid not in ("0", "1", me):
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = f.read().rsplit(")", 1)[1].split()[1]
            if pid not in ("0", "1", me) and "pytest" in _cmdline(pid):
                return True
        except (OSError, IndexError):
            return False
    return False


def _our_processes() -> list[str]:
    """Processes a test may leave behind: the tools we start, our own Python agents and sniffers
    (`python -m cloudnet_emu...`), and anything running in a network namespace other than ours
    (a namespace outlives its mount while a process holds it)."""
    mine = os.readlink("/proc/self/ns/net")
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            cmd = _cmdline(pid)
            netns = os.readlink(f"/proc/{pid}/ns/net")
        except OSError:          # gone meanwhile, or a kernel thread
            continue
        if (comm in TOOLS or "cloudnet_emu." in cmd or (netns != mine and cmd)) and not _another_session(pid):
            found.append(f"{pid} {comm} {cmd[:80]}")
    return found


def _guard():
    before = machine_state()
    yield before
    after = machine_state()
    leftover = {k: sorted(set(after[k]) - set(before[k])) for k in before if set(after[k]) - set(before[k])}
    if leftover:     # cleaned up for the next test; this one still fails
        cli = shutil.which("cloudnet-emu") or os.path.join(os.path.dirname(sys.executable), "cloudnet-emu")
        subprocess.run([cli, "clean", "--all"], capture_output=True)
    assert not leftover, f"the test left these behind: {leftover}"


@pytest.fixture
def clean_machine():
    """Fail the test if it leaves any namespace, link, OVS bridge, qdisc, process or mount behind."""
    yield from _guard()


@pytest.fixture(scope="module")
def clean_module():
    """The same guard around a whole module (for tests that share one testbed)."""
    yield from _guard()
