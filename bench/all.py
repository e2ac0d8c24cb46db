#!/usr/bin/env python3
"""Run the benchmarks one after the other and print their figures as one table (`sudo make bench`).

Each benchmark prints its figures beside a baseline made in the same run; the table shows each
one's last line (the figure to quote).  bench/scale.py, bench/soak.py and bench/reserve.py take
minutes and are not in it; run them on their own.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHES = [("up/down vs plain Mininet", ["up.py"]), ("attach/detach (50 VMs)", ["attach.py", "--count", "50"]),
           ("VPN throughput (iperf3)", ["throughput.py"]),
           ("control plane: bgp vs static", ["converge.py"])]


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    rows = []
    for title, argv in BENCHES:
        t = time.monotonic()
        res = subprocess.run([sys.executable, os.path.join(HERE, argv[0])] + argv[1:], capture_output=True, text=True,
                             cwd=os.path.dirname(HERE))
        sys.stdout.write(res.stdout)
        sys.stderr.write(res.stderr)
        lines = res.stdout.strip().splitlines()
        rows.append((title, lines[-1] if res.returncode == 0 and lines else f"FAILED (exit {res.returncode})",
                     time.monotonic() - t))
    print()
    print("| benchmark | figure (same-run baseline and ratio) | took |")
    print("|---|---|---|")
    for title, figure, took in rows:
        print(f"| {title} | {figure} | {took:.0f} s |")
    sys.exit(1 if any(r[1].startswith("FAILED") for r in rows) else 0)


if __name__ == "__main__":
    main()
