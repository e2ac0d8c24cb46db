"""Restarting ovs-vswitchd alone, a fault the tests and scenarios inject.

ovsdb-server keeps running, so every bridge, port, VLAN tag (`tag`, `trunks`, `vlan_mode`) and
`external_ids` owner mark survives; only the forwarding daemon goes away and comes back.  We use
the distribution's `ovs-ctl --no-ovsdb-server stop|start` (a graceful `ovs-appctl exit`, then a
fresh daemon started the way ovs-ctl starts it), keeping `--monitor` iff the running daemon had
it, and honouring OVS_RUNDIR (the VM tier runs OVS from a scratch directory).

Why isolation holds across the restart: our bridges are `fail_mode=standalone` with no
controller, so the only flow is NORMAL, and NORMAL forwards by the port VLAN configuration that
the new daemon reads from OVSDB *before* it adds the ports to the datapath (one reconfigure
pass).  While the daemon is down the userspace (netdev) datapath does not exist, and the kernel
datapath only runs the megaflows the old daemon installed (each already VLAN-correct) and drops
every miss.  There is no window with an untagged learning switch; tests/integration/
test_ovs_restart.py proves it with a cross-tenant frame stream across the restart.

OpenFlow rules are not in OVSDB (port security's rules on VM ports, managers/port_security.py):
a plain restart would come back without them, an open port.  So we do what `ovs-ctl restart` does
for a hot upgrade: dump every bridge's flows, set `other_config:flow-restore-wait=true` (the new
daemon forwards nothing and keeps the datapath until it is cleared), restart, add the flows back,
clear the flag.  No packet is forwarded by a daemon without its rules.

What is lost: learned MACs (the switches flood within each VLAN until they learn again) and the
bridges' local tap ports of the netdev datapath (recreated down; we bring ours up again, as
`up` does).
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from typing import Optional

from ..errors import RealizeError
from .ns import run
from . import ovs

OVS_CTL = "/usr/share/openvswitch/scripts/ovs-ctl"


def _rundir() -> str:
    return os.environ.get("OVS_RUNDIR", "/var/run/openvswitch")


def vswitchd_pid() -> Optional[int]:
    """The pid of the running ovs-vswitchd (from its pidfile), or None."""
    try:
        with open(os.path.join(_rundir(), "ovs-vswitchd.pid")) as f:
            pid = int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if os.path.exists(f"/proc/{pid}") else None


def _monitored(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"--monitor" in f.read().split(b"\0")
    except FileNotFoundError:
        return False


def _configured(bridges: dict[str, list[str]]) -> bool:
    """Every bridge and every port OVSDB lists is in the new daemon's datapath."""
    res = run(["ovs-appctl", "-t", "ovs-vswitchd", "dpif/show"], check=False)   # finds OVS_RUNDIR itself
    if res.returncode != 0:
        return False
    shown: dict[str, set] = {}
    bridge = None
    for line in res.stdout.splitlines():          # "  <bridge>:" then "    <port> 1/7: (system)"
        if line.startswith("    ") and bridge is not None:
            shown[bridge].add(line.split()[0])
        elif line.startswith("  "):
            bridge = line.strip().rstrip(":")
            shown[bridge] = set()
    return all(br in shown and set(ports) <= shown[br] for br, ports in bridges.items())


def _ovs_ctl(args: list[str], timeout: float) -> tuple[int, str]:
    """Run ovs-ctl with its output in a file: a detached daemon must not hold a pipe of ours open.
    Its exit status is not trusted alone (it fails on a missing kernel module and starts anyway)."""
    with tempfile.TemporaryFile("w+") as log:
        try:
            rc = subprocess.run([OVS_CTL] + args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                timeout=timeout).returncode
        except FileNotFoundError:
            raise RealizeError(f"{OVS_CTL} {' '.join(args)}", detail="ovs-ctl is not installed "
                               "(apt-get install openvswitch-switch, or ./setup.sh)") from None
        except subprocess.TimeoutExpired:
            raise RealizeError(f"{OVS_CTL} {' '.join(args)}", detail=f"no answer within {timeout:g} s") from None
        log.seek(0)
        return rc, log.read()[-600:]


def restart_vswitchd(timeout: float = 60.0) -> dict:
    """Stop and start ovs-vswitchd only; return when every bridge and port is back in the datapath.

    Returns {old_pid, new_pid, down_s (stop), up_s (start until configured), total_s}."""
    old = vswitchd_pid()
    if old is None:
        raise RealizeError("restart ovs-vswitchd", detail="ovs-vswitchd is not running "
                           f"(no live pid in {_rundir()}/ovs-vswitchd.pid); start Open vSwitch: ./setup.sh")
    monitor = _monitored(old)
    bridges = {br: ovs.ports(br) for br in run(ovs.VSCTL + ["list-br"]).stdout.split()}
    saved = {br: flows(br) for br in bridges}
    t0 = time.monotonic()
    run(ovs.VSCTL + ["set", "Open_vSwitch", ".", "other_config:flow-restore-wait=true"])
    try:
        _, out = _ovs_ctl(["--no-ovsdb-server", "stop"], timeout)
        t1 = time.monotonic()
        if os.path.exists(f"/proc/{old}"):
            raise RealizeError("restart ovs-vswitchd", detail=f"ovs-ctl stop left pid {old} running: {out}")
        _, out = _ovs_ctl(["--no-ovsdb-server"] + ([] if monitor else ["--no-monitor"]) + ["start"], timeout)
        deadline = time.monotonic() + timeout
        while not _configured(bridges):
            if time.monotonic() > deadline:
                raise RealizeError("restart ovs-vswitchd", detail=f"bridges not back in the datapath after "
                                   f"{timeout:g} s (see ovs-vswitchd.log); ovs-ctl said: {out}")
            time.sleep(0.05)
        for br, rules in saved.items():
            if rules:
                with tempfile.NamedTemporaryFile("w", suffix=".flows") as f:
                    f.write("\n".join(rules) + "\n")
                    f.flush()
                    run(["ovs-ofctl", "add-flows", br, f.name])
    finally:        # forwarding starts only now, with every rule in place (or the restart failed: say so)
        run(ovs.VSCTL + ["remove", "Open_vSwitch", ".", "other_config", "flow-restore-wait"])
    for br in ovs.owned_bridges():           # the netdev datapath's local tap ports come back down
        run(["ip", "link", "set", br, "up"], check=False)
    t2 = time.monotonic()
    return {"old_pid": old, "new_pid": vswitchd_pid(), "down_s": round(t1 - t0, 3), "up_s": round(t2 - t1, 3),
            "total_s": round(t2 - t0, 3), "flows_restored": sum(len(f) for f in saved.values())}


def flows(bridge: str) -> list[str]:
    """The bridge's OpenFlow rules as `ovs-ofctl add-flows` reads them back (cookies kept)."""
    out = run(["ovs-ofctl", "--no-stats", "--no-names", "dump-flows", bridge]).stdout
    return [line.strip() for line in out.splitlines() if line.strip() and not line.startswith(("NXST", "OFPST"))]
