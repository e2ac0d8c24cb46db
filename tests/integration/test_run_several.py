"""`cloudnet-emu run A.yaml B.yaml --report-dir D` for real: two short scenarios on Figure 1, one
after the other on fresh testbeds, one of them designed to come out red (a check of a route that
pe1 does not have).  The combined JUnit counts both, each scenario has its own report directory,
and the exit status is 1 because one was not as expected; the machine is left as it was.

The same two through scripts/ci-scenarios (the host job of the pipelines `ci init` writes) where
the checkout has its own .venv (CI's fresh clone after setup.sh), which adds doctor.json.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

REPO = Path(__file__).resolve().parents[2]
TOPO = REPO / "topologies" / "cloudnet.yaml"

GREEN = """name: green
topology: {topo}
checks:
  - name: acme's two sites reach each other
    reach: {{from: acme-h1, to: acme-h2}}
"""
RED = """name: red
topology: {topo}
checks:
  - name: bravo's sites reach each other
    reach: {{from: bravo-h1, to: bravo-h3}}
  - name: pe1 has a route to TEST-NET-3 (it has none; designed to fail)
    route: {{node: pe1, dst: 203.0.113.0/24}}
"""


@pytest.fixture
def two(tmp_path):
    (tmp_path / "green.yaml").write_text(GREEN.format(topo=TOPO))
    (tmp_path / "red.yaml").write_text(RED.format(topo=TOPO))
    return tmp_path


def check_reports(out: Path):
    suites = ET.parse(out / "report.xml").getroot()
    assert suites.tag == "testsuites"
    assert {k: suites.get(k) for k in ("tests", "failures", "errors", "skipped")} == \
        {"tests": "3", "failures": "1", "errors": "0", "skipped": "0"}
    assert [s.get("name") for s in suites] == ["green", "red"]
    failed = suites.findall("testsuite/testcase[failure]")
    assert [c.get("name") for c in failed] == ["pe1 has a route to TEST-NET-3 (it has none; designed to fail)"]
    assert failed[0].find("failure").text == "no route to 203.0.113.0/24 on pe1"
    green, red = (json.loads((out / n / "report.json").read_text()) for n in ("green", "red"))
    assert (green["ok"], green["counts"]) == (True, {"pass": 1, "fail": 0, "error": 0, "not checked": 0})
    assert (red["ok"], red["counts"]) == (False, {"pass": 1, "fail": 1, "error": 0, "not checked": 0})
    assert ET.parse(out / "red" / "report.xml").getroot().get("failures") == "1"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] is False
    assert [(s["scenario"], s["ok"], s["report_dir"]) for s in summary["scenarios"]] == \
        [("green", True, str(out / "green")), ("red", False, str(out / "red"))]


def test_two_scenarios_one_red(two, cli, clean_machine):
    out = two / "out"
    res = subprocess.run([cli, "run", str(two / "green.yaml"), str(two / "red.yaml"), "--report-dir", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 1, res.stdout + res.stderr
    check_reports(out)
    assert "1 of 2 scenario(s) came out as expected" in res.stdout


def test_a_directory_of_green_scenarios_exits_0(two, cli, clean_machine):
    # A directory is a batch even with one file in it (one bring-up keeps this test short).
    (two / "red.yaml").unlink()
    res = subprocess.run([cli, "run", str(two), "--json", "--report-dir", str(two / "out")],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    summary = json.loads(res.stdout)
    assert summary["ok"] is True
    assert [(s["scenario"], s["ok"]) for s in summary["scenarios"]] == [("green", True)]
    assert [r["counts"]["pass"] for r in summary["reports"]] == [1]
    suites = ET.parse(two / "out" / "report.xml").getroot()
    assert (suites.get("tests"), suites.get("failures"), len(suites)) == ("1", "0", 1)


@pytest.mark.skipif(not os.access(REPO / ".venv" / "bin" / "cloudnet-emu", os.X_OK),
                    reason="the checkout has no .venv of its own (scripts/ci-scenarios runs ./setup.sh on it)")
def test_the_pipelines_host_job(two, clean_machine):
    out = two / "out"
    res = subprocess.run([str(REPO / "scripts" / "ci-scenarios"), "host", str(out), "green.yaml", "red.yaml"],
                         cwd=two, capture_output=True, text=True, timeout=900)
    assert res.returncode == 1, res.stdout + res.stderr
    check_reports(out)
    doctor = json.loads((out / "doctor.json").read_text())
    assert {"features", "realizations"} <= set(doctor), doctor
