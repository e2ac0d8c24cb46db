"""iputils ping: its argv, and its output read here, the one place (ping has no JSON output).

Exit status (iputils): 0 a reply came back, 1 none did, anything else: ping could not do its job
(an unknown name, a usage error, a missing namespace).  The summary it prints at its end (also on
SIGINT) is "N packets transmitted, M received, ..." and, when a reply came, "rtt min/avg/max/mdev
= a/b/c/d ms": stats() and rtt() read those two lines.
"""
from __future__ import annotations

import re
import signal
import subprocess
from typing import Optional, Union

from . import exec as kexec

_STATS = re.compile(r"(\d+) packets transmitted, (\d+) received")
_RTT = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)")

Num = Union[int, float, str]


def argv(dst: str, count: Optional[int] = None, interval: Num = "0.2", wait: Optional[Num] = None,
         size: Optional[int] = None) -> list[str]:
    """Numeric, quiet (summary only); COUNT echoes (None: until interrupted) every INTERVAL s, each
    waited for WAIT s at most; SIZE: ICMP payload bytes (the IP total length is SIZE + 28)."""
    return (["ping", "-n", "-q"] + (["-c", str(count)] if count is not None else []) + ["-i", str(interval)]
            + (["-W", str(wait)] if wait is not None else []) + (["-s", str(size)] if size is not None else [])
            + [dst])


def run(netns: Optional[str], dst: str, timeout: Optional[float] = 30, **options) -> subprocess.CompletedProcess:
    """Ping from namespace NETNS to its end (argv() options; TIMEOUT None: no limit); a non-zero
    exit is returned, not raised."""
    return kexec.run(argv(dst, **options), netns=netns, check=False, timeout=timeout)


def spawn(netns: Optional[str], dst: str, stderr=kexec.STDOUT, **options) -> subprocess.Popen:
    """Start a ping from namespace NETNS (argv() options), its stderr into its stdout by default."""
    return kexec.spawn(argv(dst, **options), netns=netns, stderr=stderr)


def interrupt(proc: subprocess.Popen, timeout: float = 10) -> str:
    """SIGINT a running ping (it prints its summary then) and return its output."""
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=timeout)
    return out or ""


def stats(text: str) -> Optional[tuple[int, int]]:
    """(transmitted, received) from ping's summary; None if it printed none."""
    m = _STATS.search(text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def rtt(text: str) -> Optional[tuple[float, float, float]]:
    """(min, avg, max) round-trip time in ms from ping's summary; None if no reply came."""
    m = _RTT.search(text or "")
    return (float(m.group(1)), float(m.group(2)), float(m.group(3))) if m else None


def last_line(text: str) -> str:
    """What ping said last (its reason, when it could not run)."""
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else ""
