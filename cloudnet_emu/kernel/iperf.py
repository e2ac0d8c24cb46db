"""iperf3 in namespaces: a one-shot server, a TCP client, and its JSON report (`-J`) read here.

A report that does not parse, or that carries iperf3's own "error", is a StateError naming it:
there is no measurement to judge.
"""
from __future__ import annotations

import json
from typing import Optional

from ..errors import StateError
from . import exec as kexec

DEFAULT_MSS = 1448       # what iperf3 reports on Ethernet with TCP timestamps, when it reports none


def server(netns: Optional[str], port: int) -> kexec.Popen:
    """iperf3 serving one test on PORT in namespace NETNS, then exiting (-1); its output discarded."""
    return kexec.spawn(["iperf3", "-s", "-1", "-p", str(port)], netns=netns, stdout=kexec.DEVNULL,
                       stderr=kexec.DEVNULL)


def client(netns: Optional[str], dst: str, port: int, seconds: float, omit: int = 1) -> kexec.Popen:
    """A TCP test from namespace NETNS to DST:PORT lasting SECONDS, the first OMIT left out of the
    result (slow start); the report as JSON on stdout."""
    return kexec.spawn(["iperf3", "-c", dst, "-p", str(port), "-t", str(seconds), "-O", str(omit), "-J",
                        "--connect-timeout", "3000"], netns=netns)


def report(proc: kexec.Popen, timeout: float) -> dict:
    """The JSON report of a client once it ends (killed after TIMEOUT: what it printed by then)."""
    out, err = kexec.finish(proc, timeout)
    return parse(out, err)


def parse(out: str, err: str = "") -> dict:
    try:
        data = json.loads(out)
    except ValueError:
        raise StateError(f"iperf3 gave no result: {(err or out)[-300:]}") from None
    if "error" in data:
        raise StateError(f"iperf3: {data['error']}")
    return data


def received_bps(data: dict) -> float:
    """Goodput the receiver counted over the test, in bit/s."""
    return data["end"]["sum_received"]["bits_per_second"]


def mss(data: dict) -> int:
    return data.get("start", {}).get("tcp_mss_default") or DEFAULT_MSS
