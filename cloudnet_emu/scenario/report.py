"""Scenario reports: report.json (the contract in the README), JUnit report.xml, report.html
(report_html.py: one self-contained page); the terminal table is the CLI's (report.scenario_table).

Every entry (an action step, a check) carries its `status` (the verdict: pass/fail/error/not
checked), `ok` (verdict.outcome: expect applied; null for not checked) and `result` (what it
counts as: pass, fail, error or not checked); report.json has the `counts` of results.  In JUnit
a fail is <failure>, an error <error>, not checked <skipped message=...>.
"""
from __future__ import annotations

import json
import os
from xml.etree import ElementTree as ET

from ..verdict import counts
from .entries import entries
from .report_html import write as write_html


def write(report: dict, directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    ET.ElementTree(junit(report)).write(os.path.join(directory, "report.xml"), encoding="unicode",
                                        xml_declaration=True)
    write_html(report, directory)


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

