"""How scenario checks send: the endpoints a check names, pings until they reply, senders that cannot send."""
from __future__ import annotations

import time

from ..checks import pings
from ..kernel import ns
from .world import World


def names(value) -> list[str]:
    """A `from:`/`to:` value, one name or a list of them, as a list."""
    return [value] if isinstance(value, str) else list(value)


def reach_all(w: World, pairs: list[tuple[str, str]], tries: float = 2.0, wait: float = 1.0) -> dict:
    """Which pairs get a reply, all pinged in parallel, each echo waited for WAIT s; pairs without
    one are tried again for `tries` seconds (a new path may need a moment: ARP, FDB learning)."""
    return reach_timed(w, pairs, tries, wait)[0]


def reach_timed(w: World, pairs: list[tuple[str, str]], tries: float = 2.0,
                wait: float = 1.0) -> tuple[dict, float]:
    """reach_all, and the time.monotonic() at which the last round of pings ended."""
    end = time.monotonic() + tries
    got = {p: False for p in pairs}
    while True:
        todo = [p for p, ok in got.items() if not ok]
        res = pings(w.testbed, [(s, w.address(d)) for s, d in todo], count=1, wait=wait)
        for s, d in todo:
            got[(s, d)] = res[(s, w.address(d))]
        if all(got.values()) or time.monotonic() >= end:
            return got, time.monotonic()


def no_namespace(w: World, nodes) -> list[str]:
    """The nodes among NODES whose namespace does not exist (a sender that cannot send)."""
    return [n for n in dict.fromkeys(nodes) if n != "root" and not ns.exists(w.netns(n))]
