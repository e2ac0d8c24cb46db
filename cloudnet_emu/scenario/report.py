"""Scenario reports: report.json (the contract in the README), JUnit report.xml, a terminal table."""
from __future__ import annotations

import json
import os
from xml.etree import ElementTree as ET


def write(report: dict, directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    ET.ElementTree(junit(report)).write(os.path.join(directory, "report.xml"), encoding="unicode",
                                        xml_declaration=True)


def junit(report: dict) -> ET.Element:
    cases = [("step", s["name"], s["ok"], s["duration_ms"], s["detail"]) for s in report["steps"]
             if s["action"] != "check"]
    cases += [("check", c["name"], c["ok"], 0.0, c["detail"]) for c in report["checks"]]
    suite = ET.Element("testsuite", name=report["scenario"], tests=str(len(cases)),
                       failures=str(sum(not ok for _, _, ok, _, _ in cases)),
                       time=f"{sum(d for *_, d, _ in cases) / 1000:.3f}")
    for kind, name, ok, ms, detail in cases:
        case = ET.SubElement(suite, "testcase", classname=f"{report['scenario']}.{kind}", name=name,
                             time=f"{ms / 1000:.3f}")
        if not ok:
            ET.SubElement(case, "failure", message=detail[:200]).text = detail
    return suite


def table(report: dict) -> None:
    from rich.table import Table
    from ..report import console
    t = Table(title=f"scenario {report['scenario']}: " + ", ".join(
        f"{k}={v}" for k, v in report["realization"].items() if k != "degradations"))
    for col in ("", "step / check", "kind", "expected", "result", "ms", "detail"):
        t.add_column(col)
    for i, s in enumerate(report["steps"], 1):
        if s["action"] == "check":
            continue
        t.add_row(str(i), s["name"], s["action"], s["expected"], "[green]ok[/green]" if s["ok"] else "[red]NOT OK[/red]",
                  f"{s['duration_ms']:.1f}", s["detail"][:70])
    for c in report["checks"]:
        t.add_row("", c["name"][:60], c["kind"], c["expected"], "[green]ok[/green]" if c["ok"] else "[red]NOT OK[/red]",
                  "", c["detail"][:70])
    console.print(t)
    bad = sum(not s["ok"] for s in report["steps"] if s["action"] != "check") + sum(not c["ok"] for c in report["checks"])
    total = sum(s["action"] != "check" for s in report["steps"]) + len(report["checks"])
    console.print(f"{total - bad} passed, {bad} failed")
