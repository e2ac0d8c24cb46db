"""`link: {endpoints, state}`: take a link of the topology down or bring it up (a fault)."""
from __future__ import annotations

import time
from typing import Iterator, Literal

from pydantic import Field

from ...errors import Problem
from ...links import set_link
from ...spec.checks import _ref_hint
from ...spec.model import Name, Strict
from ..kind import StepKind
from ..paper import Paper
from ..world import World


class Link(Strict):
    endpoints: list[Name] = Field(min_length=2, max_length=2)
    state: Literal["down", "up"]


def paper(w: Paper, body: Link, at: tuple, i: int, ok: bool) -> Iterator[Problem]:
    ends = body.endpoints
    for k, end in enumerate(ends):
        if end not in w.nodes:
            yield Problem(f"unknown node {end!r} in link", path=at + ("endpoints", k),
                          hint=_ref_hint(end, w.nodes, "nodes"), at_value=True)
    if set(ends) <= w.nodes and frozenset(ends) not in w.links:
        yield Problem(f"no link {ends[0]} -- {ends[1]} in the topology", path=at + ("endpoints",),
                      hint="name the two ends of a core, access or cloud uplink link")


def run(w: World, body: Link) -> tuple[list, str]:
    a, b = body.endpoints
    set_link(w.testbed, a, b, body.state == "up")
    # the reach check times traffic coming back from here (the last cut still in force)
    w.cut = (f"{a}--{b}", time.monotonic()) if body.state == "down" else None
    return [], f"{a} -- {b} {body.state}"


def title(body: Link, detail: str) -> str:
    return f"link {body.endpoints[0]}--{body.endpoints[1]} {body.state}"


KIND = StepKind("link", Link, paper, run, title)
