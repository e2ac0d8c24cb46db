"""Verdicts: what a check, an attack case or a negative control concluded, and its evidence.

Every verdict is one of four statuses:

    pass         the property held, and the evidence proves the check could have seen it fail
    fail         the property was broken (a leak seen, a reply missing, a route absent ...)
    error        the check could not judge: a sender that could not send, a watcher that was not
                 proven live, a command that could not run, an exception; never a pass
    not checked  the feature under test is degraded on this machine (the reason says which)

Evidence is data: `Sent` says what was sent, from where and how many made it out; `Watch` says
where packets were counted, how many control packets that watcher saw in the same run (its proof
of life) and how many packets under test it saw.  `judge_watch` turns that evidence into a status
with the convention every isolation verdict follows: a sender that sent nothing or a watcher
whose control saw nothing is an error; any packet under test seen at any watcher is a leak.

`outcome(status, expect)` is the one place where `expect: fail` is applied: it inverts a
well-formed pass or fail only; an error stays an error and "not checked" stays itself.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Optional


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    NOT_CHECKED = "not checked"

    def __str__(self) -> str:
        return self.value


@dataclass
class Sent:
    """COUNT packets (or probes, connections, lookups) of WHAT left SRC; 0 means the sender failed."""
    src: str
    what: str
    count: int


@dataclass
class Watch:
    """A watcher at AT: CONTROL control packets seen (> 0 proves it live), SEEN packets under test."""
    at: str
    control: int
    seen: int = 0


@dataclass
class Verdict:
    """The one verdict type of checks, scenario checks, attack cases and flows.  `evidence`: what
    else the verdict rests on, as report.json carries it ({"verdicts": [...]}, {"counters": ...})."""
    name: str
    kind: str
    status: Status
    reason: str = ""
    sent: list[Sent] = field(default_factory=list)
    watched: list[Watch] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS

    def to_dict(self) -> dict:
        d = asdict(self)
        d["status"] = str(self.status)
        if not d["evidence"]:
            del d["evidence"]
        return d

    def entry(self, name: str, check: str, label: str, expect: str) -> dict:
        """A scenario check's report.json entry: this verdict, `ok` and `result` with EXPECT applied."""
        return {"name": name, "kind": label, "check": check, "expected": expect, "status": str(self.status),
                "ok": outcome(self.status, expect), "result": str(result(self.status, expect)),
                "detail": self.reason[:500], "evidence": self.evidence}


def judge_watch(sent: list[Sent], watched: list[Watch], what: str = "leak") -> tuple[Status, str]:
    """Status and reason of an isolation-style verdict from its evidence (see the module doc)."""
    if not sent:
        return Status.ERROR, "nothing was sent"
    dead = [s.src for s in sent if s.count <= 0]
    if dead:
        return Status.ERROR, f"sender(s) could not send: {', '.join(dead)}"
    if not watched:
        return Status.ERROR, "no watcher where a leak would land"
    blind = [w.at for w in watched if w.control <= 0]
    if blind:
        return Status.ERROR, f"watcher(s) not proven live (control saw nothing): {', '.join(blind)}"
    hits = [f"{w.at} saw {w.seen}" for w in watched if w.seen]
    if hits:
        return Status.FAIL, f"{what.upper()}: " + ", ".join(hits)
    total = sum(s.count for s in sent)
    return Status.PASS, f"{total} sent, 0 seen at {len(watched)} live watcher(s)"


def outcome(status: Status, expect: str = "pass") -> Optional[bool]:
    """Did the verdict come out as EXPECTed?  True/False for pass/fail; False for an error (it
    never counts as expected, not even under `expect: fail`); None for "not checked"."""
    if status is Status.ERROR:
        return False
    if status is Status.NOT_CHECKED:
        return None
    return (status is Status.PASS) == (expect == "pass")


def counts(statuses) -> dict[str, int]:
    """How many of each status, in the fixed order every report prints them."""
    out = {str(s): 0 for s in Status}
    for s in statuses:
        out[str(Status(s))] += 1
    return out


def summary(statuses) -> str:
    c = counts(statuses)
    return (f"{c['pass']} passed, {c['fail']} failed, {c['error']} error(s), "
            f"{c['not checked']} not checked")


def result(status: Status, expect: str = "pass") -> Status:
    """What a verdict counts as in a report once EXPECT is applied: pass (came out as expected),
    fail (a well-formed verdict that did not), error, or not checked."""
    ok = outcome(Status(status), expect)
    if ok is None:
        return Status.NOT_CHECKED
    if Status(status) is Status.ERROR:
        return Status.ERROR
    return Status.PASS if ok else Status.FAIL


def judged(status: Status, detail: str, evidence: Optional[dict] = None) -> Verdict:
    """A scenario check's verdict (its name and kind are the scenario's, given at `entry`): its
    STATUS, what it saw (DETAIL) and its EVIDENCE as report.json carries it."""
    return Verdict("", "scenario", status, detail, evidence=dict(evidence or {}))
