"""Run a scenario: bring its topology up (or use a running testbed), run the steps and
checks in order, tear down, and write the report.  Exit status: 0 iff every step and
check came out as expected.

Every step is timed, with its phases (attach: Figure 2's four steps).  Every step and check result
carries a `status` (pass/fail/error/not checked, verdict.py) and `ok` = verdict.outcome(status,
expect): a check marked `expect: fail` is ok when it fails well-formed (never when it errs); a step
marked `expect: {fail: KIND}` is ok only when refused with that refusal (refusals.REFUSALS).  A
report is ok iff nothing failed or erred and something passed.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional

from .. import lifecycle, pipeline, state
from ..errors import CloudnetError
from ..verdict import Status, counts, outcome, result
from .judge import run_check
from .model import Scenario, Step, load_scenario
from .refusals import refusal_kind
from .entries import entries
from .report import write
from .steps import BY_NAME as STEPS
from .world import World

__all__ = ["World", "run", "run_check", "run_step", "tally", "verdict_ok"]

Progress = Callable[[str], None]


def _act(w: World, step: Step) -> tuple[list, Status, str]:
    """An action step's (phases, status, detail): pass when it succeeds, fail when the managers refuse
    it (a CloudnetError), error when it crashes; under `expect: {fail: KIND}` another refusal is an
    error too, and the detail says what was expected."""
    refusal = step.refusal
    try:
        phases, detail = STEPS[step.action].run(w, getattr(step, step.action))
    except CloudnetError as exc:
        got = refusal_kind(exc)
        status = Status.FAIL if refusal is None or got == refusal else Status.ERROR
        detail = f"refused ({got or type(exc).__name__}): {exc}"
        if refusal and got != refusal:
            detail = f"expected a {refusal} refusal, got {type(exc).__name__}: {exc}"
        return [], status, detail
    except Exception as exc:     # noqa: BLE001 -- a crash is this step's error, never an expected refusal
        return [], Status.ERROR, f"crashed: {type(exc).__name__}: {exc}"
    if refusal:
        detail = f"expected a {refusal} refusal, but the step succeeded: {detail}"
    return phases, Status.PASS, detail


def run_step(w: World, step: Step) -> dict:
    """One step.  An action step that succeeds is pass; one the managers refuse (a CloudnetError) is
    fail; a crash is error.  `expect: {fail: KIND}` is ok iff the step was refused with exactly that
    refusal (refusals.REFUSALS): its success, another refusal or a crash is red and says what happened.
    A check step is its check's verdict."""
    t0 = time.perf_counter()
    kind, body = STEPS[step.action], getattr(step, step.action)
    phases, check = [], None
    if step.check is not None:       # a check step's run is its check's: the check's report entry
        check = kind.run(w, body)
        status, ok, res, detail = Status(check["status"]), check["ok"], check["result"], check["detail"]
    else:
        phases, status, detail = _act(w, step)
        expect = "fail" if step.refusal else "pass"
        ok, res = outcome(status, expect), str(result(status, expect))
    return {"name": step.name or kind.title(body, detail), "action": step.action, "status": str(status), "ok": ok,
            "result": res, "expected": check["expected"] if check else step.expect_text,
            "duration_ms": round((time.perf_counter() - t0) * 1000, 2), "phases": phases, "detail": detail[:500],
            "_check": check}


def verdict_ok(c: dict[str, int]) -> bool:
    """A scenario is ok iff nothing failed or erred and at least one thing passed: a run where every
    check was "not checked" is no evidence."""
    return c["fail"] == 0 and c["error"] == 0 and c["pass"] > 0


def tally(report: dict) -> dict[str, int]:
    """Counts of results (pass/fail/error/not checked, expect applied) over a report's action steps
    and its checks (a check step is counted once, as its check)."""
    return counts(e["result"] for _, e in entries(report))


def run(path: str, report_dir: Optional[str] = None, testbed: Optional[str] = None,
        progress: Progress = lambda s: None) -> dict:
    sc: Scenario = load_scenario(path)
    topo_path = str(Path(path).parent / sc.topology)
    started = time.perf_counter()
    own = testbed is None
    if own:
        record = pipeline.up(topo_path, sc.realize, sc.degrade, progress)
        name = record["testbed"]
    else:
        name = state.resolve(testbed)
    metrics: dict[str, float] = {"up_s": round(time.perf_counter() - started, 3)} if own else {}
    steps, checks = [], []
    try:
        w = World(name, report_dir)
        for i, step in enumerate(sc.steps):
            result = run_step(w, step)
            progress(f"step {i + 1}/{len(sc.steps)} {result['action']}: {result['result']} "
                     f"({result['duration_ms']:.0f} ms) {result['detail'][:80]}")
            check = result.pop("_check")
            if check:
                checks.append(check)
            steps.append(result)
            if step.attach and result["ok"] and step.expect == "pass":
                for ph in result["phases"]:
                    metrics[f"attach_{ph['name']}_ms.{len([s for s in steps if s['action'] == 'attach'])}"] = \
                        ph["duration_ms"]
        for c in sc.checks:
            res = run_check(w, c)
            progress(f"check {res['name'][:70]}: {res['result']}")
            checks.append(res)
        record = state.read(name)
        metrics.update(w.metrics)
    finally:
        if own:
            t = time.perf_counter()
            lifecycle.down(name)
            metrics["down_s"] = round(time.perf_counter() - t, 3)
    attach_totals = [s["duration_ms"] for s in steps if s["action"] == "attach" and s["ok"] and s["expected"] == "pass"]
    if attach_totals:
        metrics["attach_total_ms.mean"] = round(sum(attach_totals) / len(attach_totals), 2)
        metrics["attach_total_ms.max"] = max(attach_totals)
    report = {
        "scenario": sc.name, "topology": topo_path,
        "realization": {**record["realizations"], "degradations": record.get("degradations", [])},
        "steps": steps, "checks": checks, "metrics": metrics,
    }
    report["counts"] = tally(report)
    report["ok"] = verdict_ok(report["counts"])
    if report_dir:
        write(report, report_dir)
    return report
