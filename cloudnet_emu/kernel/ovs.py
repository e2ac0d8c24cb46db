"""Open vSwitch through ovs-vsctl argv lists, many commands per transaction.

Everything we create carries external_ids:cloudnet-emu-testbed=<testbed>, which is
how `down` and `clean` find our bridges and leave everyone else's alone.
"""
from __future__ import annotations

import json
from typing import Iterable

from ..errors import RealizeError
from ..naming import OVS_OWNER_KEY
from . import ovsdb, unixctl
from .ns import run

VSCTL = ["ovs-vsctl", f"--timeout={ovsdb.TIMEOUT_S}"]     # a change that adds no port or bridge


def vsctl(commands: Iterable[list[str]], timeout: float = ovsdb.TIMEOUT_S) -> str:
    """Run several ovs-vsctl commands as one transaction (joined by '--'), allowing ovs-vswitchd
    TIMEOUT seconds to apply it (ovsdb.timeout_for says how long a change may take)."""
    argv = ["ovs-vsctl", f"--timeout={timeout:.0f}"]
    for cmd in commands:
        argv += ["--"] + list(cmd)
    if len(argv) == 2:
        return ""
    return run(argv, timeout=timeout + 10).stdout


def available() -> tuple[bool, str]:
    try:
        res = run(["ovs-vsctl", "--timeout=3", "show"], check=False)
    except Exception as exc:   # not installed: RealizeError(ENOENT)
        return False, str(exc)
    if res.returncode != 0:
        return False, (res.stderr.strip() or "ovs-vsctl show failed") + \
            " (start it: /usr/share/openvswitch/scripts/ovs-ctl start, or ./setup.sh)"
    return True, "ovsdb-server and ovs-vswitchd answer"


def userspace_tso() -> bool | None:
    """Whether Open vSwitch's userspace datapath segments TCP itself (other_config:userspace-tso-enable).

    The key is the machine's setting, for every bridge of every user: the product only reads it.
    It takes effect when ovs-vswitchd starts with it (set while the daemon ran, TCP across a
    testbed was seen to fail), which is why the opt-in says to restart it.  None: Open vSwitch does
    not answer (the probe's cache check asks this alone, one ovs-vsctl call).
    """
    try:
        res = run(["ovs-vsctl", "--timeout=3", "--if-exists", "get", "Open_vSwitch", ".",
                   "other_config:userspace-tso-enable"], check=False)
    except RealizeError:        # not installed, or no answer within the timeout
        return None
    return res.stdout.strip().strip('"') == "true" if res.returncode == 0 else None


def owned_bridges(testbed: str | None = None) -> dict[str, str]:
    """Bridges carrying our owner tag: name -> testbed."""
    ok, _ = available()
    if not ok:
        return {}
    out = run(VSCTL + ["--format=json", "--columns=name,external_ids", "list", "Bridge"]).stdout
    found = {}
    for name, ids in json.loads(out)["data"]:
        owner = dict(ids[1]).get(OVS_OWNER_KEY)
        if owner is not None and (testbed is None or owner == testbed):
            found[name] = owner
    return found


def bridge_ports(names: Iterable[str]) -> dict[str, list[str]]:
    """The ports of each named bridge that exists, in one ovs-vsctl call."""
    names = set(names)
    if not names:
        return {}
    out = run(VSCTL + ["--format=json", "--columns=name,ports", "list", "Bridge", "--",
                       "--columns=_uuid,name", "list", "Port"]).stdout
    decoder, tables, pos = json.JSONDecoder(), [], 0
    while len(tables) < 2:
        while out[pos].isspace():
            pos += 1
        table, pos = decoder.raw_decode(out, pos)
        tables.append(table)
    port_names = {uuid[1]: name for uuid, name in tables[1]["data"]}
    found = {}
    for name, ports in tables[0]["data"]:
        if name in names:
            refs = ports[1] if ports[0] == "set" else [ports]
            found[name] = sorted(port_names[r[1]] for r in refs if r[1] in port_names)
    return found


def delete_bridges(names: Iterable[str], ports: int = 0, wait: bool = True) -> None:
    """Delete bridges (missing ones are fine) holding PORTS ports in all; without `wait`, return
    before ovs-vswitchd removed them (ovs-vsctl --no-wait; `sync(ports)` waits later)."""
    names = list(names)
    if not names:
        return
    allowed = ovsdb.timeout_for(ports)
    argv = ["ovs-vsctl", f"--timeout={allowed:.0f}"] + ([] if wait else ["--no-wait"])
    for n in names:
        argv += ["--", "--if-exists", "del-br", n]
    run(argv, timeout=allowed + 10)


def sync(ports: int = 0) -> None:
    """Wait until ovs-vswitchd applied every change so far (bridges holding PORTS ports removed)."""
    ovsdb.sync(ovsdb.timeout_for(ports))


def ports(bridge: str) -> list[str]:
    res = run(VSCTL + ["list-ports", bridge], check=False)
    return res.stdout.split() if res.returncode == 0 else []


def fdb(bridge: str, timeout: float = 30) -> list[dict]:
    """BRIDGE's MAC table (ovs-appctl fdb/show, text: OVS has no JSON for it, read here alone):
    rows {port: number or "LOCAL", vlan, mac, age}; none if the bridge is gone."""
    res = run(["ovs-appctl", "fdb/show", bridge], check=False, timeout=timeout)
    return parse_fdb(res.stdout) if res.returncode == 0 else []


def parse_fdb(text: str) -> list[dict]:
    rows = []
    for line in text.splitlines()[1:]:        # the header: port VLAN MAC Age
        cols = line.split()
        if len(cols) >= 4:
            rows.append({"port": cols[0], "vlan": cols[1], "mac": cols[2], "age": cols[3]})
    return rows


def forget_mac(places: Iterable[tuple[str, int]], mac: str) -> None:
    """Bridges forget one learned MAC (on the given (bridge, VLAN)s), the rest of their tables kept.

    `fdb/del` removes only static entries (OVS 3.1: "could not find static mac entry"), so each
    entry is first made static (`fdb/add` on the bridge's own port, which overrides a learned
    entry), then deleted.  OVS also learns when it pushes the statistics of datapath flows that
    carried the MAC's last frames, in the revalidation round the deletion starts: we wait for that
    round to end (milliseconds, not the 500 ms of the periodic round; the wait is asked before the
    deletion, see unixctl.revalidated_after) and forget again, which catches what the push relearned.
    In-process over the control socket, every command of a round sent at once: no fork, one round
    trip per round.
    """
    places = list(places)

    def forget_all():       # all sent at once: a refused fdb/add (no such bridge) makes its fdb/del refused too
        unixctl.try_many([c for bridge, vlan in places
                          for c in (("fdb/add", bridge, bridge, vlan, mac), ("fdb/del", bridge, vlan, mac))])
    if places:
        unixctl.revalidated_after(forget_all)
        forget_all()
