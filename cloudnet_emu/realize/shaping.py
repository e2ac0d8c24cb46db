"""Link shaping with tc argv lists: HTB for bandwidth, netem (under it) for delay and loss.
A testbed's links are shaped at `up` with one `tc -batch` per namespace (apply_all).

    bw only          root htb 1: -> class 1:1 rate/ceil bw -> class 1:2 (best effort, the default)
    delay/loss only  root netem
    both             root htb 1: -> class 1:1 -> class 1:2 -> netem 10:

Bandwidth reservations (plan/reserve.py) add classes 1:1xx under 1:1 (rate = the reservation,
ceil = the link, with the link's netem under them too) and u32 filters at 1: that send their
packets there; best effort's rate is what the reservations leave.
"""
from __future__ import annotations

from typing import Optional

from ..kernel import ns
from ..plan.actions import Shape, TcClass, TcFilter

BEST_EFFORT = "1:2"


def _tc(netns: Optional[str], *args: str):
    ns.run(["tc"] + list(args), netns=netns or None)


def _netem(s: Shape) -> list[str]:
    args = ["netem"]
    if s.delay_ms:
        args += ["delay", f"{s.delay_ms}ms"]
    if s.loss:
        args += ["loss", f"{s.loss}%"]
    return args + ["limit", "10000"]


def _commands(s: Shape) -> list[list[str]]:
    """The tc commands (argv after `tc`) that shape S's interface."""
    dev = s.ifname
    if s.bw is None:
        return [["qdisc", "replace", "dev", dev, "root", "handle", "10:", *_netem(s)]]
    rate = f"{s.bw}mbit"
    cmds = [["qdisc", "replace", "dev", dev, "root", "handle", "1:", "htb", "default", "2"],
            ["class", "replace", "dev", dev, "parent", "1:", "classid", "1:1", "htb", "rate", rate, "ceil", rate,
             *_bursts(s.bw)],
            ["class", "replace", "dev", dev, "parent", "1:1", "classid", BEST_EFFORT, "htb", "rate", rate,
             "ceil", rate, *_bursts(s.bw)]]
    if s.delay_ms or s.loss:
        cmds.append(["qdisc", "replace", "dev", dev, "parent", BEST_EFFORT, "handle", "10:", *_netem(s)])
    return cmds


def apply_all(shapes: list[tuple[Optional[str], Shape]]) -> None:
    """Shape every (namespace, Shape) with one `tc -batch` per namespace, in order: a fork per
    command was half of Figure 1's `up` (66 of them).  tc stops at the first command that fails
    and names its line."""
    by_ns: dict[Optional[str], list[list[str]]] = {}
    for netns, s in shapes:
        by_ns.setdefault(netns or None, []).extend(_commands(s))
    for netns, cmds in by_ns.items():
        ns.run(["tc", "-batch", "-"], netns=netns, input="".join(" ".join(c) + "\n" for c in cmds))


def _kbit(mbit: float) -> str:
    return f"{max(int(mbit * 1000), 8)}kbit"


def _bursts(mbit: float) -> list[str]:
    # tc's default burst is one timer tick's worth at HZ=1000 (~1.6 kB): on veths a class then
    # idles between ticks and falls short of its rate; 2 ms of traffic (at least 10 frames) does not
    b = f"{max(int(mbit * 1e6 / 8 * 0.002), 15140)}b"
    return ["burst", b, "cburst", b]


def add_class(netns: Optional[str], c: TcClass) -> None:
    _tc(netns, "class", "replace", "dev", c.ifname, "parent", "1:1", "classid", c.classid, "htb",
        "rate", _kbit(c.rate), "ceil", _kbit(c.ceil), *_bursts(c.ceil))
    if c.delay_ms or c.loss:
        handle = c.classid.split(":")[1] + ":"
        _tc(netns, "qdisc", "replace", "dev", c.ifname, "parent", c.classid, "handle", handle,
            *_netem(Shape(None, c.ifname, delay_ms=c.delay_ms, loss=c.loss)))


def del_class(netns: Optional[str], c: TcClass) -> None:
    ns.run(["tc", "class", "del", "dev", c.ifname, "classid", c.classid], netns=netns or None, check=False)


def add_filter(netns: Optional[str], f: TcFilter) -> None:
    _tc(netns, "filter", "add", "dev", f.ifname, "parent", "1:", "protocol", f.protocol, "prio", str(f.prio),
        "u32", *f.match, "flowid", f.flowid)


def del_filter(netns: Optional[str], f: TcFilter) -> None:
    ns.run(["tc", "filter", "del", "dev", f.ifname, "parent", "1:", "protocol", f.protocol, "prio", str(f.prio)],
           netns=netns or None, check=False)


def best_effort(netns: Optional[str], ifname: str, rate: float, ceil: float) -> None:
    """What the reservations leave on a link goes to best effort (which may still borrow up to ceil)."""
    _tc(netns, "class", "change", "dev", ifname, "parent", "1:1", "classid", BEST_EFFORT, "htb",
        "rate", _kbit(rate), "ceil", _kbit(ceil), *_bursts(ceil))


def remove(netns: Optional[str], ifname: str) -> None:
    ns.run(["tc", "qdisc", "del", "dev", ifname, "root"], netns=netns or None, check=False)
