"""Scenario reports: report.json (the contract in the README), JUnit report.xml, report.html
(report_html.py: one self-contained page), a terminal table.

Every entry (an action step, a check) carries its `status` (the verdict: pass/fail/error/not
checked), `ok` (verdict.outcome: expect applied; null for not checked) and `result` (what it
counts as: pass, fail, error or not checked); report.json has the `counts` of results.  In JUnit
a fail is <failure>, an error <error>, not checked <skipped message=...>.
"""
from __future__ import annotations

import json
import os
from xml.etree import ElementTree as ET

from ..verdict import counts, summary

_COLOUR = {"pass": "green", "fail": "red", "error": "red", "not checked": "yellow"}


def write(report: dict, directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    ET.ElementTree(junit(report)).write(os.path.join(directory, "report.xml"), encoding="unicode",
                                        xml_declaration=True)
    from .report_html import write as write_html
    write_html(report, directory)


def entries(report: dict) -> list[tuple[str, dict]]:
    """("step" | "check", entry) for every action step and every check (a check step once, as its check)."""
    return [("step", s) for s in report["steps"] if s["action"] != "check"] + \
        [("check", c) for c in report["checks"]]


def junit(report: dict) -> ET.Element:
    cases = entries(report)
    c = counts(e["result"] for _, e in cases)
    suite = ET.Element("testsuite", name=report["scenario"], tests=str(len(cases)), failures=str(c["fail"]),
                       errors=str(c["error"]), skipped=str(c["not checked"]),
                       time=f"{sum(e.get('duration_ms', 0.0) for _, e in cases) / 1000:.3f}")
    for kind, e in cases:
        case = ET.SubElement(suite, "testcase", classname=f"{report['scenario']}.{kind}", name=e["name"],
                             time=f"{e.get('duration_ms', 0.0) / 1000:.3f}")
        tag = {"fail": "failure", "error": "error", "not checked": "skipped"}.get(e["result"])
        if tag:
            ET.SubElement(case, tag, message=e["detail"][:200]).text = e["detail"]
    return suite


def table(report: dict) -> None:
    from rich.table import Table
    from ..report import console
    t = Table(title=f"scenario {report['scenario']}: " + ", ".join(
        f"{k}={v}" for k, v in report["realization"].items() if k != "degradations"))
    for col in ("", "step / check", "kind", "expected", "result", "ms", "detail"):
        t.add_column(col)
    steps = {id(s): i for i, s in enumerate(report["steps"], 1)}
    for kind, e in entries(report):
        colour = _COLOUR[e["result"]]
        t.add_row(str(steps[id(e)]) if kind == "step" else "", e["name"][:60], e["action"] if kind == "step" else e["kind"],
                  str(e["expected"]), f"[{colour}]{e['result']}[/{colour}]",
                  f"{e['duration_ms']:.1f}" if kind == "step" else "", e["detail"][:70])
    console.print(t)
    console.print(summary(e["result"] for _, e in entries(report)))
