"""FRR daemons, one instance per router namespace: argv, files, start, stop, vtysh.

An instance is a directory (owned frr:frr: the daemons drop to user frr, and FRR refuses
`-u root`) holding `<daemon>.conf`, and what the daemons make there: `<daemon>.pid`,
`<daemon>.log`, `<daemon>.vty` and zebra's `zserv.api`.  Daemons are started with
`ip netns exec <ns>` and `-d`; `-P 0` opens no TCP vty; `--vty_socket <dir>` is how vtysh
finds this instance (without it, vtysh talks to the machine's own FRR in /run/frr).

A process is ours to stop only if both hold: its pid is in a pid file of the instance
directory, and it runs in the instance's network namespace (and its command is the daemon).
So a user's own FRR, anywhere else, is never touched.
"""
from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import time
from typing import Optional

from ..errors import RealizeError
from . import ns
from .exec import in_netns

SBIN = "/usr/lib/frr"
USER = "frr"
STOP_S = 3.0
DAEMONS_SEEN = ("zebra", "staticd", "ospfd", "bgpd", "isisd", "ldpd", "bfdd", "watchfrr")


def missing(daemons) -> list[str]:
    """What this machine lacks to run DAEMONS (empty: nothing)."""
    lack = [f"{SBIN}/{d}" for d in daemons if not os.access(f"{SBIN}/{d}", os.X_OK)]
    if not shutil.which("vtysh"):
        lack.append("vtysh")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        lack.append(f"user {USER}")
    return lack


def ids() -> tuple[int, int]:
    return pwd.getpwnam(USER).pw_uid, grp.getgrnam(USER).gr_gid


def prepare(directory: str, configs: dict[str, str]) -> None:
    """The instance directory with one configuration file per daemon, all owned by frr."""
    uid, gid = ids()
    os.makedirs(directory, mode=0o750, exist_ok=True)
    os.chown(directory, uid, gid)
    for daemon, text in configs.items():
        path = os.path.join(directory, f"{daemon}.conf")
        with open(path, "w") as f:
            f.write(text)
        os.chown(path, uid, gid)


def remove(directory: str) -> None:
    """An instance's directory, once its daemons are stopped."""
    shutil.rmtree(directory, ignore_errors=True)


def argv(daemon: str, directory: str) -> list[str]:
    """ldpd also gets its own control socket there (`--ctl_socket` names the directory; ldpd adds
    `ldpd.sock`): its default (/var/run/frr/ldpd.sock) is one per machine, and a second instance
    would die on it."""
    extra = ["--ctl_socket", directory] if daemon == "ldpd" else []
    return [f"{SBIN}/{daemon}", "-d", "-P", "0", "-f", os.path.join(directory, f"{daemon}.conf"),
            "-i", os.path.join(directory, f"{daemon}.pid"), "-z", os.path.join(directory, "zserv.api"),
            "--vty_socket", directory, "--log", f"file:{os.path.join(directory, daemon + '.log')}"] + extra


def vtysh(directory: str, command: str, timeout: float = 5, empty=None) -> Optional[dict]:
    """`show ... json` of this instance as data; None while the daemon does not answer (EMPTY
    where it answers with nothing at all: some `show` commands print no JSON when they have none)."""
    try:
        res = subprocess.run(["vtysh", "--vty_socket", directory, "-c", command], capture_output=True, text=True,
                             timeout=timeout)
    except (subprocess.TimeoutExpired, FileNotFoundError):
        return None
    if res.returncode != 0:
        return None
    if not res.stdout.strip():
        return empty
    try:
        return json.loads(res.stdout)
    except ValueError:
        return None


def _netns_inode(netns: str) -> Optional[int]:
    try:
        return os.stat(os.path.join(ns.NETNS_DIR, netns)).st_ino
    except FileNotFoundError:
        return None


def pids(directory: str, netns: str) -> dict[str, int]:
    """daemon -> pid, for the live processes of this instance (pid file, namespace and command agree)."""
    inode = _netns_inode(netns)
    found = {}
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return found
    for name in names:
        if not name.endswith(".pid"):
            continue
        daemon = name[:-4]
        try:
            with open(os.path.join(directory, name)) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            their = os.stat(f"/proc/{pid}/ns/net").st_ino
        except (OSError, ValueError):
            continue
        if comm == daemon and inode is not None and their == inode:
            found[daemon] = pid
    return found


def stop(directory: str, netns: str) -> list[str]:
    """Stop this instance's daemons (see stop_many); the daemons that were running."""
    return stop_many([(directory, netns)])[0]


def stop_many(instances: list[tuple[str, str]]) -> list[list[str]]:
    """SIGTERM every daemon of the (directory, netns) instances at once, SIGKILL what is left
    after STOP_S; per instance, the daemons that were running."""
    found = [pids(d, n) for d, n in instances]
    live = [pid for f in found for pid in f.values()]
    for pid in live:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_S
    while time.monotonic() < deadline and any(_alive(p) for p in live):
        time.sleep(0.02)
    for pid in live:
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
    # Daemonized, they are init's children: give it a moment to reap them, so that nothing
    # that looks like an FRR process is left when we return.
    # `-d` leaves a zombie of each daemon's first fork for init too (seen here for about 1 s).
    deadline = time.monotonic() + STOP_S
    while time.monotonic() < deadline and (any(os.path.exists(f"/proc/{p}") for p in live) or _zombies()):
        time.sleep(0.02)
    return [sorted(f) for f in found]


def _zombies() -> list[int]:
    """FRR daemons' zombies waiting for init (any instance: they are nobody's to kill)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                head, _, rest = f.read().rpartition(") ")
        except OSError:
            continue
        if rest[:1] == "Z" and head.partition(" (")[2] in DAEMONS_SEEN:
            found.append(int(pid))
    return found


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def check_started(directory: str, daemon: str) -> None:
    """A configuration line the daemon did not understand is a bug of ours: refuse to go on."""
    try:
        with open(os.path.join(directory, f"{daemon}.log")) as f:
            bad = [line.strip() for line in f if "No such command" in line or "Command incomplete" in line
                   or "Unknown command" in line]
    except FileNotFoundError:
        return
    if bad:
        raise RealizeError(f"start {daemon} in {directory}", 0, "configuration refused: " + "; ".join(bad[:3]))


def start_many(instances: list[tuple[str, str, str]], timeout: float = 60) -> None:
    """Start (netns, directory, daemon) triples side by side; each `-d` returns once its daemon
    has read its configuration.  The first failure is a RealizeError naming the instance."""
    procs = []
    for netns, directory, daemon in instances:
        cmd = in_netns(netns, argv(daemon, directory))
        procs.append((cmd, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    failed = None
    for cmd, proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            failed = failed or RealizeError(" ".join(cmd), 0, f"did not daemonize within {timeout:g} s")
            continue
        if proc.returncode != 0 and failed is None:
            failed = RealizeError(" ".join(cmd), 0, (err or out or "").strip() or f"exit status {proc.returncode}")
    if failed:
        raise failed


def configure(directory: str, lines: list[str], timeout: float = 5) -> None:
    """Lines typed into this instance's `configure terminal` (vtysh); a RealizeError if refused."""
    cmd = ["vtysh", "--vty_socket", directory, "-c", "configure terminal"]
    for line in lines:
        cmd += ["-c", line]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RealizeError(" ".join(cmd), 0, f"no answer within {timeout:g} s") from None
    out = (res.stdout + res.stderr).strip()
    if res.returncode != 0 or "% " in out:
        raise RealizeError(" ".join(cmd), 0, out or f"exit status {res.returncode}")


def evpn(directory: str) -> Optional[dict]:
    """zebra's EVPN settings (`show evpn json`): duplicate-address detection on or off
    (isDuplicateAddrDetection), its threshold (maxMoves in detectionTime seconds); None: no answer."""
    return vtysh(directory, "show evpn json")


def evpn_mac(directory: str) -> Optional[dict[int, dict[str, dict]]]:
    """zebra's EVPN MAC table (`show evpn mac vni all json`): VNI -> MAC -> its entry (type local
    with intf, or remote with remoteVtep; localSequence, remoteSequence, detectionCount,
    isDuplicate).  None: no answer."""
    data = vtysh(directory, "show evpn mac vni all json", empty={})
    if data is None:
        return None
    return {int(vni): {mac.lower(): m for mac, m in (v.get("macs") or {}).items()}
            for vni, v in data.items() if isinstance(v, dict) and str(vni).isdigit()}


def evpn_vnis(directory: str) -> Optional[dict[int, dict]]:
    """bgpd's EVPN VNIs (`show bgp l2vpn evpn vni json`): VNI -> {importRTs, exportRTs, rd, ...}
    merged with zebra's (`show evpn vni json`: vxlanIf).  None: no answer."""
    zebra = vtysh(directory, "show evpn vni json", empty={})
    if zebra is None:
        return None
    if not any(str(k).isdigit() for k in zebra):
        return {}       # no VNI here (a P router): bgpd has nothing to say either (and says it in no JSON)
    bgp = vtysh(directory, "show bgp l2vpn evpn vni json")
    if bgp is None:
        return None
    out = {int(k): dict(v) for k, v in bgp.items() if isinstance(v, dict) and str(k).isdigit()}
    for k, v in zebra.items():
        if isinstance(v, dict) and str(k).isdigit():
            out.setdefault(int(k), {}).update(vxlanIf=v.get("vxlanIf"))
    return out


def clear_duplicate(directory: str, vni: int, mac: str) -> None:
    """Forget zebra's duplicate flag of MAC in VNI (after a flap the attack made on purpose)."""
    subprocess.run(["vtysh", "--vty_socket", directory, "-c", f"clear evpn dup-addr vni {vni} mac {mac}"],
                   capture_output=True, text=True, timeout=5)
