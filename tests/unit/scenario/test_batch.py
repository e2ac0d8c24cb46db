"""`cloudnet-emu run A B | run DIR` without root: what is refused before anything is built, and
how the batch records and combines its scenarios' reports (the real runs are in
tests/integration/test_run_several.py)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from cloudnet_emu.cli import main
from cloudnet_emu.errors import RealizeError, SpecError
from cloudnet_emu.scenario import batch

REPO = Path(__file__).resolve().parents[3]
TOPO = REPO / "topologies" / "cloudnet.yaml"
NOT_ROOT = "error: this command builds or inspects network namespaces: run it as root (sudo cloudnet-emu ...)\n"


def scenario(path: Path, body: str = "steps:\n  - check: {reach: {from: acme-h1, to: acme-h2}}\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"name: {path.stem}\ntopology: {TOPO}\n{body}")
    return path


BROKEN = "steps:\n  - detach: {vm: b1}\n"


def run(argv):
    return CliRunner().invoke(main, argv, prog_name="cloudnet-emu")


def test_one_file_is_not_a_batch(tmp_path):
    one = scenario(tmp_path / "a.yaml")
    assert not batch.is_batch((str(one),))
    assert batch.is_batch((str(one), str(one)))
    assert batch.is_batch((str(tmp_path),))


def test_a_directory_stands_for_its_scenario_files_sorted(tmp_path):
    for name in ("b.yaml", "a.yml", "c.yaml"):
        scenario(tmp_path / "d" / name)
    (tmp_path / "d" / "notes.txt").write_text("not a scenario")
    (tmp_path / "d" / "sub").mkdir()
    scenario(tmp_path / "d" / "sub" / "deeper.yaml")       # not recursive
    got = batch.expand((str(tmp_path / "d"), str(tmp_path / "d" / "sub" / "deeper.yaml")))
    assert [p.name for p in got] == ["a.yml", "b.yaml", "c.yaml", "deeper.yaml"]


def test_every_problem_of_every_file_before_root(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    good = scenario(tmp_path / "good.yaml")
    bad1 = scenario(tmp_path / "bad1.yaml", BROKEN)
    bad2 = scenario(tmp_path / "bad2.yaml", BROKEN)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(["run", str(bad2), str(good), str(bad1), str(empty), "--report-dir", str(tmp_path / "out")])
    assert result.exit_code == 2
    problem = (":4:18: VM 'b1' is not attached by an earlier step (at steps.0.detach.vm)\n"
               "    hint: known VMs at this step: none; name VMs with attach: {name: ...}\n")
    assert result.stderr == (f"{empty}: no scenario files (*.yaml, *.yml) in this directory\n"
                             "    hint: name scenario files, or a directory that holds them\n"
                             "1 problem(s); nothing was built.\n")
    empty.rmdir()
    result = run(["run", str(bad2), str(good), str(bad1), "--report-dir", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr == f"{bad1}{problem}{bad2}{problem}2 problem(s); nothing was built.\n"
    assert not (tmp_path / "out").exists()


def test_two_files_with_one_stem_would_share_a_report_directory(tmp_path):
    a = scenario(tmp_path / "x" / "same.yaml")
    b = scenario(tmp_path / "y" / "same.yaml")
    result = run(["run", str(a), str(b)])
    assert result.exit_code == 2
    assert result.stderr == (f"{b}: its report directory same/ is also {a}'s\n"
                             "    hint: each scenario gets --report-dir/<file name without .yaml>: rename one of "
                             "the two files\n1 problem(s); nothing was built.\n")


def test_valid_files_then_root_then_nothing_built(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = run(["run", str(scenario(tmp_path / "a.yaml")), str(scenario(tmp_path / "b.yaml"))])
    assert (result.exit_code, result.stderr) == (2, NOT_ROOT)


def test_testbed_with_several_scenarios_is_refused(tmp_path):
    result = run(["run", str(scenario(tmp_path / "a.yaml")), str(scenario(tmp_path / "b.yaml")), "-t", "lab"])
    assert result.exit_code == 2
    assert result.stderr == ("error: --testbed runs one scenario on a running testbed; several scenarios each get "
                             "a fresh testbed: drop --testbed or name one scenario file\n")


def report(name: str, results: list[str]) -> dict:
    checks = [{"name": f"c{i}", "kind": "reach", "result": r, "status": r, "ok": r == "pass",
               "expected": "pass", "detail": f"detail {i}"} for i, r in enumerate(results)]
    c = {k: results.count(k) for k in ("pass", "fail", "error", "not checked")}
    return {"scenario": name, "steps": [], "checks": checks, "counts": c,
            "ok": c["fail"] == 0 and c["error"] == 0 and c["pass"] > 0}


def test_run_all_goes_on_after_a_crash_and_combines_the_junit(tmp_path):
    paths = [scenario(tmp_path / f"{n}.yaml") for n in ("one", "two", "three")]
    ran = []

    def run_one(path, sub):
        ran.append((path.name, sub))
        if path.stem == "two":
            raise RealizeError("ip link add", 17, "File exists")
        rep = report(path.stem, ["pass", "pass"] if path.stem == "one" else ["pass", "fail", "not checked"])
        os.makedirs(sub)
        return rep

    out = tmp_path / "out"
    summary = batch.run_all(paths, str(out), run_one)
    assert ran == [(f"{n}.yaml", str(out / n)) for n in ("one", "two", "three")]
    assert summary["ok"] is False
    assert [(s["scenario"], s["ok"]) for s in summary["scenarios"]] == [("one", True), ("two", False),
                                                                         ("three", False)]
    assert summary["scenarios"][1]["error"] == "ip link add failed [EEXIST]: File exists"
    # The crashed scenario still has its report directory, with the error as a JUnit <error>.
    crashed = json.loads((out / "two" / "report.json").read_text())
    assert crashed["counts"] == {"pass": 0, "fail": 0, "error": 1, "not checked": 0}
    suites = ET.parse(out / "report.xml").getroot()
    assert suites.tag == "testsuites"
    assert {k: suites.get(k) for k in ("tests", "failures", "errors", "skipped")} == \
        {"tests": "6", "failures": "1", "errors": "1", "skipped": "1"}
    assert [s.get("name") for s in suites] == ["one", "two", "three"]
    assert suites[1].find("testcase/error").get("message").startswith("the run failed: ip link add failed")
    assert json.loads((out / "summary.json").read_text())["ok"] is False


def test_run_all_is_ok_only_if_every_scenario_is(tmp_path):
    paths = [scenario(tmp_path / f"{n}.yaml") for n in ("one", "two")]
    summary = batch.run_all(paths, None, lambda p, sub: report(p.stem, ["pass"]))
    assert summary["ok"] is True and [s["report_dir"] for s in summary["scenarios"]] == [None, None]
    summary = batch.run_all(paths, None, lambda p, sub: report(p.stem, ["pass"] if p.stem == "one" else ["fail"]))
    assert summary["ok"] is False


def test_a_spec_error_during_a_run_is_not_swallowed(tmp_path):
    paths = [scenario(tmp_path / "one.yaml")]

    def run_one(path, sub):
        raise SpecError([])
    with pytest.raises(SpecError):
        batch.run_all(paths, None, run_one)
