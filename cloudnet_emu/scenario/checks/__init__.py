"""The check kinds: one module each (its model, paper check, run and title: kind.py), registered here.

Adding a check kind is adding its module and one entry in KINDS.  KINDS' order is the one order of
the kinds: in error messages, in the keys of the `Check` model (its JSON schema, the "allowed keys"
hints) and in the docs.
"""
from __future__ import annotations

from typing import Any, Iterator, Optional

from pydantic import Field

from ...errors import Problem
from .. import expect as expects
from ..kind import CheckKind, OneOf, one_of
from ..paper import Paper
from . import attack, encap, fdb, flow, garp, isolated, latency, mobility, reach, route, tcp, throughput

KINDS: tuple[CheckKind, ...] = tuple(m.KIND for m in (
    reach, isolated, encap, route, fdb, garp, tcp, attack, throughput, latency, flow, mobility))
BY_NAME = {k.name: k for k in KINDS}


class _CheckBase(OneOf):
    NOUN = "check"
    name: Optional[str] = None
    expect: Any = Field("pass", description="pass, fail, or per realization, e.g. {static: fail} (expect.py); "
                                            "checked in problems()")

    @property
    def kind(self) -> str:
        return self.chosen()


Check = one_of("Check", _CheckBase, KINDS, __name__)


def problems(w: Paper, c: Check, path: tuple) -> Iterator[Problem]:
    """A check's references to the topology at this point of the steps (its kind's paper check)."""
    yield from expects.problems(c.expect, path + ("expect",))
    yield from BY_NAME[c.kind].paper(w, getattr(c, c.kind), path + (c.kind,))
