"""tcpdump as a witness: when a started sniffer may be trusted to see what follows.

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
