"""The outcome of one attack case, and the table `cloudnet-emu attack` prints (pure data, no root).

A case HOLDS when nothing leaked, no state changed that the attacker could have changed, every
positive control saw its packets (the sniffers would have seen a leak) and what must be detected
was detected.  `control` counts the control packets seen; a case whose control saw nothing
cannot pass (a blind sniffer proves nothing).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Result:
    case: str
    realization: str
    sent: int = 0                       # attack packets sent (or lookups made)
    leaked: int = 0                     # seen where they must not be, or replies to the attacker
    state_changed: list = field(default_factory=list)
    control: int = -1                   # control packets seen; -1: no control in this case
    detected: list = field(default_factory=list)      # what the detectors reported
    must_detect: bool = False
    notes: list = field(default_factory=list)

    @property
    def held(self) -> bool:
        return (self.leaked == 0 and not self.state_changed and self.control != 0
                and (bool(self.detected) or not self.must_detect))

    @property
    def verdict(self) -> str:
        if self.held:
            return "held"
        why = []
        if self.leaked:
            why.append("LEAK")
        if self.state_changed:
            why.append("STATE CHANGED")
        if self.control == 0:
            why.append("CONTROL BLIND")
        if self.must_detect and not self.detected:
            why.append("NOT DETECTED")
        return ", ".join(why)

    def to_dict(self) -> dict:
        return {**asdict(self), "held": self.held, "verdict": self.verdict}


def merge(case: str, realization: str, parts: list[Result]) -> Result:
    """One result out of a case's sub-attacks (sums; any blind control makes the whole blind)."""
    out = Result(case, realization)
    controls = [p.control for p in parts if p.control >= 0]
    out.control = min(controls) if controls else -1
    for p in parts:
        out.sent += p.sent
        out.leaked += p.leaked
        out.state_changed += p.state_changed
        out.detected += p.detected
        out.must_detect = out.must_detect or p.must_detect
        out.notes += p.notes
    return out


def table_rows(results: list[Result]) -> list[list[str]]:
    """case, realization, packets sent, packets leaked, state changes, verdict."""
    return [[r.case, r.realization, str(r.sent), str(r.leaked), str(len(r.state_changed)), r.verdict]
            for r in results]


def all_held(results: list[Result]) -> bool:
    return bool(results) and all(r.held for r in results)


def print_table(results: list[Result], as_json: bool) -> None:
    """The table `cloudnet-emu attack` prints (or the results as JSON)."""
    import json

    from rich.console import Console
    from rich.table import Table
    if as_json:
        print(json.dumps([r.to_dict() for r in results], indent=1))
        return
    t = Table(title="attack (real crafted packets; sniffers in the victims' namespaces)")
    for col in ("case", "realization (core/router/datapath)", "packets sent", "packets leaked", "state changes",
                "verdict"):
        t.add_column(col)
    for row, r in zip(table_rows(results), results):
        t.add_row(*row[:-1], f"[green]{row[-1]}[/]" if r.held else f"[red]{row[-1]}[/]")
    console = Console()
    console.print(t)
    for r in results:
        for note in r.notes + r.detected + r.state_changed:
            console.print(f"  {r.case}: {note}", highlight=False, markup=False)
