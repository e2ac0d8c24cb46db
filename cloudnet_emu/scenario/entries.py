"""What a scenario report counts: every action step and every check, a check step once (as its check)."""
from __future__ import annotations


def entries(report: dict) -> list[tuple[str, dict]]:
    """("step" | "check", entry) for every action step and every check (a check step once, as its check)."""
    return [("step", s) for s in report["steps"] if s["action"] != "check"] + \
        [("check", c) for c in report["checks"]]
