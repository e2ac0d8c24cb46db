"""The outcome of one attack case, and the table `cloudnet-emu attack` prints (pure data, no root).

Every case result carries a status of the shared verdict model (verdict.py):

    not checked  the case cannot run here (no Internet node, a sub-attack that does not apply to
                 this realization); the reason says why; counted apart, never a pass
    error        the case could not judge: nothing was sent, a sender failed, a sniffer died or
                 never became ready, no positive control or a control that saw nothing (a blind
                 sniffer proves nothing), an exception
    fail         something leaked, state changed that the attacker could have changed, or what
                 must be detected was not
    pass         none of the above, with evidence: packets sent and live watchers

A seen leak is a fail even when another watcher is blind: the watcher that saw it was live.
`held` means status == PASS.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from ..verdict import Sent, Status, Verdict, Watch, counts, summary
import json


@dataclass
class Result:
    case: str
    realization: str
    sent: int = 0                       # attack packets sent (or lookups made)
    leaked: int = 0                     # seen where they must not be, or replies to the attacker
    state_changed: list = field(default_factory=list)
    control: int = -1                   # path control packets seen; -1: no control (an error)
    detected: list = field(default_factory=list)      # what the detectors reported
    must_detect: bool = False
    notes: list = field(default_factory=list)
    errors: list = field(default_factory=list)        # why the case could not judge
    not_checked: str = ""               # why the case does not apply here
    sent_by: list = field(default_factory=list)       # [Sent]: what was sent from where
    watched: list = field(default_factory=list)       # [Watch]: each watcher, its control, its hits
    leaks: list = field(default_factory=list)         # what leaked, where no watcher counts it

    def judge(self) -> tuple[Status, str]:
        if self.not_checked and not self.sent and not self.errors:
            return Status.NOT_CHECKED, self.not_checked
        if self.errors:
            return Status.ERROR, "; ".join(self.errors)
        dead = [s.src for s in self.sent_by if s.count <= 0]
        if dead:
            return Status.ERROR, f"sender(s) could not send: {', '.join(dead)}"
        if self.sent <= 0:
            return Status.ERROR, "nothing was sent"
        fails = []
        if self.leaked:
            hits = [f"{w.at} saw {w.seen}" for w in self.watched if w.seen] + self.leaks[:5]
            fails.append(f"LEAK: {self.leaked}" + (f" ({', '.join(hits)})" if hits else ""))
        if self.state_changed:
            fails.append(f"STATE CHANGED: {'; '.join(self.state_changed[:3])}"
                         + (f" (+{len(self.state_changed) - 3})" if len(self.state_changed) > 3 else ""))
        if fails:
            return Status.FAIL, "; ".join(fails)
        if self.control < 0:
            return Status.ERROR, "no positive control"
        if self.control == 0:
            return Status.ERROR, "CONTROL BLIND: the positive control saw nothing"
        blind = [w.at for w in self.watched if w.control <= 0]
        if blind:
            return Status.ERROR, f"CONTROL BLIND at {', '.join(blind)}"
        if self.must_detect and not self.detected:
            return Status.FAIL, "NOT DETECTED"
        return Status.PASS, (f"{self.sent} sent, nothing leaked, control {self.control}"
                             + (f", {len(self.watched)} live watcher(s)" if self.watched else "")
                             + (f", detected {len(self.detected)}" if self.detected else ""))

    @property
    def status(self) -> Status:
        return self.judge()[0]

    @property
    def reason(self) -> str:
        return self.judge()[1]

    @property
    def held(self) -> bool:
        return self.status is Status.PASS

    @property
    def verdict(self) -> str:
        status, reason = self.judge()
        return "held" if status is Status.PASS else f"{status}: {reason}"

    def to_verdict(self) -> Verdict:
        status, reason = self.judge()
        return Verdict(self.case, "attack", status, reason, list(self.sent_by), list(self.watched))

    def to_dict(self) -> dict:
        d = asdict(self)
        status, reason = self.judge()
        d.update(status=str(status), reason=reason, held=status is Status.PASS, verdict=self.verdict)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        keep = {k: v for k, v in d.items() if k not in ("status", "reason", "held", "verdict")}
        keep["sent_by"] = [Sent(**s) for s in keep.get("sent_by", [])]
        keep["watched"] = [Watch(**w) for w in keep.get("watched", [])]
        return cls(**keep)


def failed(case: str, realization: str, why: str) -> Result:
    """A case that could not run to its end (an exception): an error naming why."""
    return Result(case, realization, errors=[why])


def skipped(case: str, realization: str, why: str) -> Result:
    return Result(case, realization, not_checked=why, notes=[f"not checked: {why}"])


def merge(case: str, realization: str, parts: list[Result]) -> Result:
    """One result out of a case's sub-attacks: sums of the parts that ran; the weakest control (a
    part without a control, -1, makes the whole an error); errors and evidence concatenated.
    Parts that were not checked are noted; if none ran, the case is not checked."""
    out = Result(case, realization)
    ran = [p for p in parts if p.status is not Status.NOT_CHECKED]
    skipped_parts = [p for p in parts if p not in ran]
    if not ran:
        out.not_checked = "; ".join(p.not_checked for p in skipped_parts) or "no sub-attack applies here"
        out.notes = [n for p in parts for n in p.notes]
        return out
    out.control = min(p.control for p in ran)
    for p in parts:
        out.notes += p.notes
    for p in ran:
        out.sent += p.sent
        out.leaked += p.leaked
        out.state_changed += p.state_changed
        out.detected += p.detected
        out.must_detect = out.must_detect or p.must_detect
        out.errors += p.errors
        out.sent_by += p.sent_by
        out.watched += p.watched
        out.leaks += p.leaks
    if any(p.must_detect for p in ran) and any(p.must_detect and not p.detected for p in ran):
        out.detected = []           # every part that must detect must have detected
    return out


def table_rows(results: list[Result]) -> list[list[str]]:
    """case, realization, packets sent, packets leaked, state changes, status, reason."""
    return [[r.case, r.realization, str(r.sent), str(r.leaked), str(len(r.state_changed)), str(r.status), r.reason]
            for r in results]


def all_held(results: list[Result]) -> bool:
    """Every case passed or was not checked, and at least one passed."""
    st = [r.status for r in results]
    return (any(s is Status.PASS for s in st)
            and all(s in (Status.PASS, Status.NOT_CHECKED) for s in st))


def status_counts(results: list[Result]) -> dict[str, int]:
    return counts(r.status for r in results)


COLOUR = {Status.PASS: "green", Status.FAIL: "red", Status.ERROR: "red", Status.NOT_CHECKED: "yellow"}


def print_table(results: list[Result], as_json: bool) -> None:
    """The table `cloudnet-emu attack` prints (or the results as JSON)."""

    from rich.console import Console
    from rich.table import Table
    if as_json:
        print(json.dumps([r.to_dict() for r in results], indent=1))
        return
    t = Table(title="attack (real crafted packets; sniffers in the victims' namespaces)")
    for col in ("case", "realization", "packets sent", "packets leaked", "state changes",
                "status", "reason"):
        t.add_column(col)
    for row, r in zip(table_rows(results), results):
        c = COLOUR[r.status]
        t.add_row(*row[:-2], f"[{c}]{row[-2]}[/]", row[-1])
    console = Console()
    console.print(t)
    for r in results:
        if r.status is not Status.PASS:
            console.print(f"  {r.case}: {r.status}: {r.reason}", highlight=False, markup=False)
        for note in r.notes + r.detected + r.state_changed:
            console.print(f"  {r.case}: {note}", highlight=False, markup=False)
    console.print(summary(r.status for r in results), highlight=False)


def as_verdicts(results: list[Result]) -> list[Verdict]:
    return [r.to_verdict() for r in results]

