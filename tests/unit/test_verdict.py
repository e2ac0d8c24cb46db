"""The verdict rules: evidence or no pass; expect: fail inverts a well-formed verdict only."""
from cloudnet_emu.attack.result import Result
from cloudnet_emu.verdict import Sent, Status, Verdict, Watch, counts, judge_watch, judged, outcome, summary

SENT = [Sent("acme-h1", "ICMP echo to 10.1.2.3", 2)]
LIVE = [Watch("bravo-h4", control=2), Watch("bravo-br", control=2)]


def test_nothing_seen_at_live_watchers_passes_and_says_how_much_was_watched():
    assert judge_watch(SENT, LIVE) == (Status.PASS, "2 sent, 0 seen at 2 live watcher(s)")


def test_a_packet_at_any_watcher_is_a_leak():
    status, reason = judge_watch(SENT, [Watch("bravo-h4", 2, seen=1), Watch("bravo-br", 2)])
    assert status is Status.FAIL and reason == "LEAK: bravo-h4 saw 1"


def test_no_evidence_is_an_error_never_a_pass():
    assert judge_watch([], LIVE)[0] is Status.ERROR
    assert judge_watch([Sent("x", "ping", 0)], LIVE) == (Status.ERROR, "sender(s) could not send: x")
    assert judge_watch(SENT, []) == (Status.ERROR, "no watcher where a leak would land")
    blind = judge_watch(SENT, [Watch("bravo-h4", control=0), Watch("bravo-br", 2)])
    assert blind == (Status.ERROR, "watcher(s) not proven live (control saw nothing): bravo-h4")


def test_a_blind_watcher_wins_over_a_leak_seen_elsewhere():
    # a leak with a blind watcher beside it is still reported as the error: the picture is incomplete
    assert judge_watch(SENT, [Watch("a", 0), Watch("b", 2, seen=3)])[0] is Status.ERROR


def test_expect_fail_inverts_pass_and_fail_only():
    assert outcome(Status.PASS) is True and outcome(Status.FAIL) is False
    assert outcome(Status.FAIL, "fail") is True and outcome(Status.PASS, "fail") is False
    assert outcome(Status.ERROR, "fail") is False and outcome(Status.ERROR) is False
    assert outcome(Status.NOT_CHECKED) is None and outcome(Status.NOT_CHECKED, "fail") is None


def test_counts_keep_not_checked_apart():
    got = counts([Status.PASS, "pass", Status.NOT_CHECKED, "error"])
    assert got == {"pass": 2, "fail": 0, "error": 1, "not checked": 1}
    assert summary(["pass", "not checked"]) == "1 passed, 0 failed, 0 error(s), 1 not checked"


def test_a_scenario_check_and_an_attack_case_are_the_same_verdict_type():
    scenario = judged(Status.ERROR, "no namespace for x", {"sent": []})
    attack = Result("sweep", "netns", sent=3, control=3, sent_by=[Sent("a", "probe", 3)],
                    watched=[Watch("b", 2)]).to_verdict()
    assert type(scenario) is type(attack) is Verdict
    entry = scenario.entry("n", "reach", "reachability", "fail")
    assert (entry["status"], entry["ok"], entry["result"], entry["evidence"]) == ("error", False, "error", {"sent": []})
    assert "evidence" not in attack.to_dict()      # `check --json` and attack JSON keep their keys
