"""Run one scenario check on the testbed: its kind's run (checks/), its verdict and report entry."""
from __future__ import annotations

from ..errors import CloudnetError
from . import expect as expects
from ..verdict import Status, judged
from .checks import BY_NAME, Check
from .world import World


def check_name(c: Check) -> str:
    return c.name or BY_NAME[c.kind].title(getattr(c, c.kind))


def run_check(w: World, c: Check) -> dict:
    """One check: its status (pass/fail/error/not checked, with the evidence), and `ok` from
    verdict.outcome(status, expect).  A check that raises is an error, never ok (not even under
    `expect: fail`): a crash is not evidence of anything."""
    kind = BY_NAME[c.kind]
    expect, why = "pass", ""
    try:
        w.refresh()
        expect, why = expects.resolve(c.expect, w.record["realizations"])
        j = kind.run(w, getattr(c, c.kind), expect)
    except CloudnetError as exc:
        j = judged(Status.ERROR, f"could not run: {exc}")
    except Exception as exc:     # noqa: BLE001 -- a crash in a check is reported as its error, never a pass
        j = judged(Status.ERROR, f"crashed: {type(exc).__name__}: {exc}")
    entry = j.entry(check_name(c), c.kind, kind.label, expect)
    if why:
        entry["expected_why"] = why
    return entry
