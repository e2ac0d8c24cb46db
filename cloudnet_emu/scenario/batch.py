"""Several scenarios in one `cloudnet-emu run`: one after another, each on a fresh testbed.

    cloudnet-emu run A.yaml B.yaml --report-dir D     D/A/, D/B/ (each: report.json, report.xml,
    cloudnet-emu run scenarios/ --report-dir D        migration PNGs) and D/report.xml, D/summary.json

Conventions: a directory stands for its `*.yaml` / `*.yml` files (not recursive), sorted by
name; every file is validated before anything is built (one SpecError with every problem of
every file, nothing built); a scenario's report directory is `D/<file stem>`, so two files with
one stem are refused.  A scenario whose run raises (the kernel refused its topology, say) is
recorded as an error and the next one still runs: a CI run shows every scenario's result.
The batch is ok iff every scenario is ok (runner.verdict_ok).  One file given alone is not a
batch: `run FILE` keeps its report files directly in D.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Optional
from xml.etree import ElementTree as ET

from ..errors import CloudnetError, Problem, SpecError
from .model import load_scenario
from .runner import tally, verdict_ok     # the one rule for counts and ok
from .report import junit, write

SUFFIXES = (".yaml", ".yml")


def is_batch(args: tuple[str, ...]) -> bool:
    """One file is the single-scenario run of old; several, or any directory, is a batch."""
    return len(args) > 1 or any(os.path.isdir(a) for a in args)


def expand(args: tuple[str, ...]) -> list[Path]:
    """The scenario files the arguments name, in order (a directory: its files sorted by name)."""
    out, problems = [], []
    for a in args:
        p = Path(a)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix in SUFFIXES and f.is_file())
            if not found:
                problems.append(Problem("no scenario files (*.yaml, *.yml) in this directory", file=a,
                                        hint="name scenario files, or a directory that holds them"))
            out += found
        else:
            out.append(p)
    if problems:
        raise SpecError(problems)
    return out


def validate(paths: list[Path]) -> None:
    """Every problem of every file (and report directories two files would share), or nothing."""
    problems, seen = [], {}
    for p in paths:
        try:
            load_scenario(p)
        except SpecError as exc:
            problems += exc.problems
        if p.stem in seen:
            problems.append(Problem(f"its report directory {p.stem}/ is also {seen[p.stem]}'s", file=str(p),
                                    hint="each scenario gets --report-dir/<file name without .yaml>: "
                                         "rename one of the two files"))
        seen.setdefault(p.stem, str(p))
    if problems:
        raise SpecError(problems)


def crashed(path: Path, exc: CloudnetError) -> dict:
    """The report of a scenario whose run raised: one error entry, so JUnit and counts show it."""
    name = load_scenario(path).name
    entry = {"name": "run", "action": "run", "status": "error", "ok": False, "result": "error",
             "expected": "pass", "duration_ms": 0.0, "phases": [], "detail": f"the run failed: {exc}"[:500]}
    report = {"scenario": name, "topology": None, "realization": {}, "steps": [entry], "checks": [],
              "metrics": {}, "error": str(exc)}
    report["counts"] = tally(report)
    report["ok"] = verdict_ok(report["counts"])
    return report


def run_all(paths: list[Path], report_dir: Optional[str],
            run_one: Callable[[Path, Optional[str]], dict]) -> dict:
    """run_one(path, its report dir) for each path in turn; the summary, written to report_dir."""
    results = []
    for p in paths:
        sub = os.path.join(report_dir, p.stem) if report_dir else None
        try:
            report = run_one(p, sub)
        except SpecError:
            raise
        except CloudnetError as exc:
            report = crashed(p, exc)
            if sub:
                write(report, sub)
        results.append({"file": str(p), "report_dir": sub, "report": report})
    summary = {"ok": bool(results) and all(r["report"]["ok"] for r in results),
               "scenarios": [{"file": r["file"], "scenario": r["report"]["scenario"], "ok": r["report"]["ok"],
                              "counts": r["report"]["counts"], "report_dir": r["report_dir"],
                              **({"error": r["report"]["error"]} if "error" in r["report"] else {})}
                             for r in results]}
    if report_dir:
        write_combined(summary, [r["report"] for r in results], report_dir)
    return {**summary, "reports": [r["report"] for r in results]}


def combined_junit(reports: list[dict]) -> ET.Element:
    """<testsuites> with one <testsuite> per scenario (scenario/report.junit) and the totals."""
    root = ET.Element("testsuites", name="cloudnet-emu run")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    seconds = 0.0
    for r in reports:
        suite = junit(r)
        for k in totals:
            totals[k] += int(suite.get(k))
        seconds += float(suite.get("time"))
        root.append(suite)
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{seconds:.3f}")
    return root


def write_combined(summary: dict, reports: list[dict], directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    ET.ElementTree(combined_junit(reports)).write(os.path.join(directory, "report.xml"), encoding="unicode",
                                                 xml_declaration=True)
    with open(os.path.join(directory, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
