"""A check's `expect:`: what its verdict should be, on every realization or per realization.

    expect: pass                 (the default) the check should pass
    expect: fail                 a negative control: ok when the check fails well-formed
    expect: {static: fail}       fail where the testbed realized `static`, pass elsewhere

A per-realization expect names realizations (plan/choose.CHOICES, e.g. `static`, `bgp`, `vxlan`,
`netns`); it resolves against the testbed's realizations when the check runs, and the report says
why (`expected_why`).  Where several named realizations are in force they must agree; where none is,
the check should pass.  An error is never ok under any expect (verdict.outcome).
"""
from __future__ import annotations

from typing import Iterator, Literal, Union

from ..errors import CloudnetError, Problem
from ..plan.choose import CHOICES

Outcome = Literal["pass", "fail"]
OUTCOMES = ("pass", "fail")
Expect = Union[Outcome, dict[str, Outcome]]
REALIZATIONS = tuple(name for options in CHOICES.values() for name, _ in options)


def problems(expect, path: tuple) -> Iterator[Problem]:
    """What is wrong with a check's `expect:` (the model takes any value and leaves it to this)."""
    hint = "write expect: pass, expect: fail, or per realization, e.g. expect: {static: fail}"
    if isinstance(expect, dict):
        if not expect:
            yield Problem("expect: {} names no realization", path=path, at_value=True, hint=hint)
        for key, value in expect.items():
            if key not in REALIZATIONS:
                yield Problem(f"unknown realization {key!r} in expect", path=path + (key,),
                              hint=f"realizations: {', '.join(REALIZATIONS)}")
            elif value not in OUTCOMES:
                yield Problem(f"expect for {key} is pass or fail, got {value!r}", path=path + (key,),
                              at_value=True, hint=hint)
    elif expect not in OUTCOMES:
        yield Problem(f"expect is pass, fail or per realization, got {expect!r}", path=path, at_value=True,
                      hint=hint)


def resolve(expect: Expect, realizations: dict[str, str]) -> tuple[Outcome, str]:
    """(pass or fail, why) of EXPECT on a testbed built with REALIZATIONS (construct -> name);
    why is "" for a plain pass/fail."""
    if not isinstance(expect, dict):
        return expect, ""
    by = {name: construct for construct, name in realizations.items()}
    hits = {f"{by[k]}={k}": v for k, v in expect.items() if k in by}
    if len(set(hits.values())) > 1:
        raise CloudnetError(f"expect {expect} is both pass and fail on this testbed ({', '.join(hits)})")
    if hits:
        return next(iter(hits.values())), f"{', '.join(hits)} is in force"
    return "pass", f"none of {', '.join(expect)} is in force"


def negative(expect: Expect) -> bool:
    """Might the check be meant to fail (on some realization)?"""
    return expect == "fail" or (isinstance(expect, dict) and "fail" in expect.values())
