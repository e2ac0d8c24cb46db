"""Running a tool's argv in a namespace: the one place that builds how a namespace is addressed.

Convention: a namespace is named by its netns name (the bind mount /run/netns/NAME that
kernel/ns.py makes), None meaning the root namespace.  An argv runs inside NAME as
`ip netns exec NAME argv...` (in_netns), for every tool alike; never `ip -n`, `tc -n`,
`bridge -n` or nsenter.  In-process work (netlink sockets, AF_PACKET sockets, /proc/sys) enters
a namespace with ns.enter / ns.rtnl instead: a thread that setns()es, no fork.
"""
from __future__ import annotations

import errno
import subprocess
from subprocess import PIPE, STDOUT, DEVNULL, Popen, SubprocessError, TimeoutExpired   # noqa: F401 (re-exported)
from typing import Optional

from ..errors import RealizeError


def in_netns(netns: Optional[str], argv: list[str]) -> list[str]:
    """ARGV as it runs inside namespace NETNS (None: unchanged, the root namespace)."""
    return list(argv) if netns is None else ["ip", "netns", "exec", netns] + list(argv)


def run(argv: list[str], netns: Optional[str] = None, check: bool = True, timeout: float = 30,
        capture: bool = True, input: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run argv (in namespace NETNS) to its end, INPUT on its stdin; raise RealizeError on failure
    (not installed, no answer within TIMEOUT, and with CHECK a non-zero exit)."""
    argv = in_netns(netns, argv)
    try:
        res = subprocess.run(argv, capture_output=capture, text=True, timeout=timeout, input=input)
    except FileNotFoundError:
        raise RealizeError(" ".join(argv), errno.ENOENT, f"{argv[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise RealizeError(" ".join(argv), errno.ETIMEDOUT, f"no answer within {timeout} s") from None
    if check and res.returncode != 0:
        raise RealizeError(" ".join(argv), 0, (res.stderr or res.stdout or "").strip()
                           or f"exit status {res.returncode}")
    return res


def spawn(argv: list[str], netns: Optional[str] = None, stdout=PIPE, stderr=PIPE, stdin=None,
          env: Optional[dict] = None) -> Popen:
    """Start argv (in namespace NETNS) and return at once; text pipes."""
    return Popen(in_netns(netns, argv), stdout=stdout, stderr=stderr, stdin=stdin, env=env, text=True)


def finish(proc: Popen, timeout: float) -> tuple[str, str]:
    """(stdout, stderr) of PROC once it ends, killed if it has not within TIMEOUT."""
    try:
        return proc.communicate(timeout=timeout)
    except TimeoutExpired:
        proc.kill()
        return proc.communicate()


def stop(proc: Popen, timeout: float = 10) -> tuple[str, str]:
    """SIGTERM PROC (if still running), then finish it: killed if it ignores that for TIMEOUT."""
    if proc.poll() is None:
        proc.terminate()
    return finish(proc, timeout)


def interactive(argv: list[str], netns: Optional[str] = None) -> int:
    """Run argv (in namespace NETNS) on this terminal; its exit status."""
    return subprocess.call(in_netns(netns, argv))
