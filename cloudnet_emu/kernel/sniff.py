"""tcpdump as a witness: its argv, when a started sniffer may be trusted to see what follows, and
its decoded text split into packets (tcpdump has no JSON output: packets() is the one reader).

tcpdump writes "listening on ..." to stderr once its filter is attached; before that line a packet
may pass unseen, and a tcpdump that exits before it (a bad filter, a missing namespace) saw nothing.
Every sniffer in the product (checks, isolation, attack) waits for that line, each with its own
deadline, and turns a sniffer that never said it into an error of its verdict.
"""
from __future__ import annotations

import os
import select
import subprocess
import time
from typing import Optional

from . import exec as kexec

READY_S = 10.0      # per sniffer: under software emulation (the VM tier) tcpdump can take seconds


def wait_listening(proc: subprocess.Popen, timeout: float = READY_S) -> tuple[bool, str]:
    """(ready, what tcpdump said on stderr until then).  Not ready: it exited (proc.returncode is
    set) or the deadline passed.  Reads the pipe's descriptor directly, so text or bytes mode alike."""
    fd, buf = proc.stderr.fileno(), b""
    deadline = time.monotonic() + timeout
    while b"listening on" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            return False, buf.decode(errors="replace").strip()
        ready, _, _ = select.select([fd], [], [], left)
        chunk = os.read(fd, 4096) if ready else b""
        if ready and not chunk:          # EOF: tcpdump exited
            proc.wait(timeout=5)
            return False, buf.decode(errors="replace").strip()
        buf += chunk
    return True, buf.decode(errors="replace")


def tcpdump_argv(iface: str, bpf: str, write: Optional[str] = None, verbose: bool = False,
                 count: Optional[int] = None, inbound: bool = False, flush: bool = True) -> list[str]:
    """tcpdump on IFACE ("any": every interface) for BPF, numeric.  WRITE: pcap into that file
    (read back with scapy); otherwise decoded text on stdout, a line per packet (-l), link headers
    included (-e), VERBOSE (-v) continuing a packet on indented lines.  COUNT: exit after that many
    packets; INBOUND: only what enters through the interface; FLUSH: each packet as it comes (-U)."""
    return (["tcpdump", "-i", iface, "-nn", "--immediate-mode"] + (["-w", write] if write else ["-l", "-e"])
            + (["-U"] if flush else []) + (["-v"] if verbose else []) + (["-c", str(count)] if count else [])
            + (["-Q", "in"] if inbound else []) + [bpf])


def start(netns: Optional[str], argv: list[str]) -> subprocess.Popen:
    """Start a tcpdump ARGV (tcpdump_argv) in namespace NETNS; its text on stdout (none when it
    writes a file), what it says on stderr (wait_listening reads it)."""
    return kexec.spawn(argv, netns=netns, stdout=kexec.DEVNULL if "-w" in argv else kexec.PIPE)


def packets(text: str) -> list[str]:
    """tcpdump's decoded text, one string per packet: a line that does not start with blanks
    begins a packet, an indented one continues it (-v), joined by a blank; empty lines dropped."""
    out: list[str] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        if line[0].isspace() and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out
