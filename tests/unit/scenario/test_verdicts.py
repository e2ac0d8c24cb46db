"""Scenario verdicts without root: outcome rules, expect parsing, refusals, reports, outage by phase."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree as ET

import pytest

from cloudnet_emu.errors import AdmissionError, PlacementError, RealizeError, SpecError, StateError
from cloudnet_emu.migration.measure import METRICS, loss_text, metrics, outage
from cloudnet_emu.scenario import runner
from cloudnet_emu.scenario.model import REFUSALS, Step, load_scenario
from cloudnet_emu.report import scenario_table
from cloudnet_emu.scenario.report import junit
from cloudnet_emu.verdict import Status, outcome, result

REPO = Path(__file__).resolve().parents[3]


# --- outcome rules --------------------------------------------------------------------------------

@pytest.mark.parametrize("status, expect, ok, counted", [
    (Status.PASS, "pass", True, "pass"), (Status.FAIL, "pass", False, "fail"),
    (Status.FAIL, "fail", True, "pass"), (Status.PASS, "fail", False, "fail"),
    (Status.ERROR, "pass", False, "error"), (Status.ERROR, "fail", False, "error"),
    (Status.NOT_CHECKED, "pass", None, "not checked"), (Status.NOT_CHECKED, "fail", None, "not checked"),
])
def test_outcome_and_result(status, expect, ok, counted):
    assert outcome(status, expect) is ok
    assert str(result(status, expect)) == counted


def test_report_ok_needs_a_pass_and_no_fail_or_error():
    assert runner.verdict_ok({"pass": 1, "fail": 0, "error": 0, "not checked": 3})
    assert not runner.verdict_ok({"pass": 0, "fail": 0, "error": 0, "not checked": 3})
    assert not runner.verdict_ok({"pass": 5, "fail": 0, "error": 1, "not checked": 0})
    assert not runner.verdict_ok({"pass": 5, "fail": 1, "error": 0, "not checked": 0})


# --- expect of a step -----------------------------------------------------------------------------

def test_step_refusal_parsing():
    s = Step.model_validate({"expect": {"fail": "placement"}, "attach": {"vpc": "v"}})
    assert s.refusal == "placement" and s.expect_text == "fail: placement" and s.negative
    plain = Step.model_validate({"attach": {"vpc": "v"}})
    assert plain.refusal is None and plain.expect_text == "pass" and not plain.negative
    assert set(REFUSALS) >= {"placement", "admission"}
    assert REFUSALS["placement"] is PlacementError and REFUSALS["admission"] is AdmissionError


def test_shipped_scenarios_say_which_refusal():
    attach = load_scenario(REPO / "scenarios/attach.yaml")
    assert [s.refusal for s in attach.steps if s.refusal] == ["placement"]
    qos = load_scenario(REPO / "scenarios/qos.yaml")
    assert [s.refusal for s in qos.steps if s.refusal] == ["admission"]
    for path in (REPO / "scenarios").glob("*.yaml"):
        assert all(s.expect != "fail" for s in load_scenario(path).steps), path


def test_plain_expect_fail_on_a_step_is_refused_with_position_and_hint(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(f"name: s\ntopology: {REPO}/topologies/cloudnet.yaml\nsteps:\n"
                 "  - expect: fail\n    attach: {vpc: bravo-vpc, site: dc1, vcpus: 64}\n")
    with pytest.raises(SpecError) as e:
        load_scenario(f)
    (p,) = e.value.problems
    assert (p.line, p.col) == (4, 13)
    assert "say which refusal: expect: {fail: placement}" in p.hint


# --- run_step: a refusal must be the one expected ----------------------------------------------------

class _Cloud:
    def __init__(self, exc=None):
        self.exc = exc

    def attach(self, *a, **k):
        if self.exc is not None:
            raise self.exc
        return {"name": "b1", "server": "s", "site": "dc1", "ip": "10.0.0.2", "vlan": 100, "steps_ms": {"total": 1}}


def _step(expect="pass"):
    return Step.model_validate({"expect": expect, "attach": {"vpc": "bravo-vpc", "site": "dc1"}})


def _world(exc=None):
    return SimpleNamespace(cloud=_Cloud(exc))


@pytest.mark.parametrize("exc, expect, ok, status, says", [
    (PlacementError("no server has 64 vCPU"), {"fail": "placement"}, True, "fail", "refused (placement)"),
    (None, {"fail": "placement"}, False, "pass", "expected a placement refusal, but the step succeeded"),
    (StateError("no VPC 'x'"), {"fail": "placement"}, False, "error", "expected a placement refusal, got StateError"),
    (AdmissionError("does not fit"), {"fail": "placement"}, False, "error", "got AdmissionError"),
    (RealizeError("ip link add", 17, "exists"), {"fail": "placement"}, False, "error", "got RealizeError"),
    (KeyError("vlan"), {"fail": "placement"}, False, "error", "crashed: KeyError"),
    (KeyError("vlan"), "pass", False, "error", "crashed: KeyError"),
    (PlacementError("full"), "pass", False, "fail", "refused (placement): full"),
    (None, "pass", True, "pass", "b1 on s"),
])
def test_run_step_refusals(exc, expect, ok, status, says):
    r = runner.run_step(_world(exc), _step(expect))
    assert (r["ok"], r["status"]) == (ok, status)
    assert says in r["detail"]


def test_a_check_that_raises_is_an_error_even_under_expect_fail():
    class Broken:
        def refresh(self):
            raise StateError("no testbed")
    c = Step.model_validate({"check": {"expect": "fail", "reach": {"from": "a", "to": "b"}}}).check
    r = runner.run_check(Broken(), c)
    assert (r["status"], r["ok"], r["result"]) == ("error", False, "error")
    assert "no testbed" in r["detail"]


# --- reports: counts, JUnit ----------------------------------------------------------------------

def _report():
    steps = [{"name": "attach b1", "action": "attach", "status": "pass", "ok": True, "result": "pass",
              "expected": "pass", "duration_ms": 10.0, "phases": [], "detail": "b1"},
             {"name": "big", "action": "attach", "status": "pass", "ok": False, "result": "fail",
              "expected": "fail: placement", "duration_ms": 5.0, "phases": [], "detail": "succeeded"},
             {"name": "c", "action": "check", "status": "error", "ok": False, "result": "error",
              "expected": "pass", "duration_ms": 1.0, "phases": [], "detail": "x"}]
    checks = [{"name": "c", "kind": "reachability", "status": "error", "ok": False, "result": "error",
               "expected": "pass", "detail": "sender could not send"},
              {"name": "lat", "kind": "performance", "status": "not checked", "ok": None, "result": "not checked",
               "expected": "pass", "detail": "delay degraded on this path: link bravo-hq--pe1: delay 5ms"}]
    r = {"scenario": "s", "steps": steps, "checks": checks, "realization": {}}
    r["counts"] = runner.tally(r)
    return r


def test_counts_and_junit():
    r = _report()
    assert r["counts"] == {"pass": 1, "fail": 1, "error": 1, "not checked": 1}
    assert not runner.verdict_ok(r["counts"])
    suite = junit(r)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("4", "1", "1", "1")
    tags = {c.get("name"): [x.tag for x in c] for c in suite}
    assert tags == {"attach b1": [], "big": ["failure"], "c": ["error"], "lat": ["skipped"]}
    skipped = suite.find("testcase[@name='lat']/skipped")
    assert "delay degraded" in skipped.get("message")
    ET.tostring(suite)


def test_table_prints_not_checked_apart(capsys):
    scenario_table(_report())
    out = capsys.readouterr().out
    assert "1 passed, 1 failed, 1 error(s), 1 not checked" in out


# --- migration outage by phase -------------------------------------------------------------------

TIMES = {"start": 100.0, "precopy_start": 100.1, "precopy_end": 101.0, "pause": 101.0, "resume": 101.05,
         "end": 101.3}


def _probes(lost_at):
    """A probe every ms from 100.0 to 102.0 s; those whose send time is in one of LOST_AT's ranges lost."""
    sent = {i: 100.0 + i / 1000 for i in range(2001)}
    echoed = {i: t + 0.001 for i, t in sent.items() if not any(a <= t < b for a, b in lost_at)}
    return {"sent": {str(k): v for k, v in sent.items()}, "echoed": {str(k): v for k, v in echoed.items()}}


def test_precopy_congestion_is_not_the_outage():
    # 100 probes lost to congestion early in the pre-copy, then the real outage: pause -> 20 ms after resume
    p = _probes([(100.3, 100.4), (101.0, 101.07)])
    out = outage(p, 50, TIMES)
    assert out["loss_precopy"] == 100
    assert out["loss_switchover"] == 70
    assert out["loss_announce"] == 0 and out["loss_prepare"] == 0
    assert out["outage_ms"] == pytest.approx(70, abs=1.01)
    assert out["outage_beyond_pause_ms"] == pytest.approx(20, abs=1.01)
    assert out["probes_lost"] == 170
    # without the phase times the first lost probe would have started "the outage" in the pre-copy
    assert outage(p, 50)["outage_ms"] == pytest.approx(100, abs=1.01)
    assert "switchover: 70 probes lost" in loss_text(out) and "pre-copy congestion 100 lost" in loss_text(out)


def test_loss_after_the_first_delivery_is_announce():
    p = _probes([(101.0, 101.06), (101.2, 101.21)])
    out = outage(p, 50, TIMES)
    assert (out["loss_switchover"], out["loss_announce"], out["loss_precopy"]) == (60, 10, 0)


def test_never_recovered():
    p = _probes([(101.0, 103.0)])
    out = outage(p, 50, TIMES)
    assert out["recovered"] is False
    assert out["loss_switchover"] == 1001 and out["loss_announce"] == 0
    assert out["outage_ms"] == pytest.approx(1000, abs=1.01)


def test_metric_names_in_one_place():
    out = outage(_probes([(101.0, 101.07)]), 50, TIMES)
    m = metrics(out, 2)
    assert {"migration_loss_precopy.2", "migration_loss_switchover.2", "migration_loss_announce.2",
            "migration_outage_ms.2", "migration_probes_lost.2"} <= set(m)
    assert all(k.split(".")[0] in METRICS.values() for k in m)
