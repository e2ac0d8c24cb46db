"""Link shaping with tc argv lists: HTB for bandwidth, netem (under it) for delay and loss.

    bw only          root htb 1: -> class 1:1 rate/ceil bw
    delay/loss only  root netem
    both             root htb 1: -> class 1:1 -> netem 10:
"""
from __future__ import annotations

from typing import Optional

from ..kernel import ns
from ..plan.actions import Shape


def _tc(netns: Optional[str], *args: str):
    argv = ["tc"] + (["-n", netns] if netns else []) + list(args)
    ns.run(argv)


def _netem(s: Shape) -> list[str]:
    args = ["netem"]
    if s.delay_ms:
        args += ["delay", f"{s.delay_ms}ms"]
    if s.loss:
        args += ["loss", f"{s.loss}%"]
    return args + ["limit", "10000"]


def apply(netns: Optional[str], s: Shape) -> None:
    dev = s.ifname
    if s.bw is None:
        _tc(netns, "qdisc", "replace", "dev", dev, "root", "handle", "10:", *_netem(s))
        return
    rate = f"{s.bw}mbit"
    _tc(netns, "qdisc", "replace", "dev", dev, "root", "handle", "1:", "htb", "default", "1")
    _tc(netns, "class", "replace", "dev", dev, "parent", "1:", "classid", "1:1", "htb", "rate", rate, "ceil", rate)
    if s.delay_ms or s.loss:
        _tc(netns, "qdisc", "replace", "dev", dev, "parent", "1:1", "handle", "10:", *_netem(s))


def remove(netns: Optional[str], ifname: str) -> None:
    argv = ["tc"] + (["-n", netns] if netns else []) + ["qdisc", "del", "dev", ifname, "root"]
    ns.run(argv, check=False)
