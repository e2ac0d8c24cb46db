"""The step kinds: one module each (its model, paper check, run and title: kind.py), registered here.

Adding a step kind is adding its module and one entry in KINDS.  KINDS' order is the one order of
the kinds: in error messages, in the keys of the `Step` model (its JSON schema, the "allowed keys"
hints) and in the docs.  A step may expect a
refusal (`expect: {fail: KIND}`, refusals.py).
"""
from __future__ import annotations

from typing import Any, Optional

from pydantic import Field

from .. import expect as expects
from ..kind import OneOf, StepKind, one_of
from . import acl, attach, check, detach, link, migrate, ovs, reserve, wait

KINDS: tuple[StepKind, ...] = tuple(m.KIND for m in (attach, detach, migrate, link, wait, check, reserve, acl, ovs))
BY_NAME = {k.name: k for k in KINDS}


class _StepBase(OneOf):
    NOUN = "step"
    name: Optional[str] = None
    expect: Any = Field("pass", description="pass, or {fail: KIND}: the step is meant to be refused with that "
                                            "refusal (REFUSALS); checked with its position in relations.py")

    @property
    def action(self) -> str:
        return self.chosen()

    @property
    def refusal(self) -> Optional[str]:
        """The refusal kind an `expect: {fail: KIND}` step expects (None for `expect: pass`)."""
        return self.expect.get("fail") if isinstance(self.expect, dict) else None

    @property
    def negative(self) -> bool:
        """A negative control: meant to be refused (or, for a check step, meant to fail)."""
        return self.expect != "pass" or (self.check is not None and expects.negative(self.check.expect))

    @property
    def expect_text(self) -> str:
        return f"fail: {self.refusal}" if self.refusal else str(self.expect)


Step = one_of("Step", _StepBase, KINDS, __name__)
