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


def vtysh(directory: str, command: str, timeout: float = 5) -> Optional[dict]:
    """`show ... json` of this instance as data; None while the daemon does not answer."""
    try:
        res = subprocess.run(["vtysh", "--vty_socket", directory, "-c", command], capture_output=True, text=True,
                             timeout=timeout)
    except (subprocess.TimeoutExpired, FileNotFoundError):
        return None
    if res.returncode != 0:
        return None
    try:
        return json.loads(res.stdout or "null")
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
