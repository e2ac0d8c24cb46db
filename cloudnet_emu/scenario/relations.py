"""Relations of a scenario to its topology, checked before anything is built (on paper).

The steps are replayed on paper, in order, against the topology: which VMs exist
(the topology's own and those attach steps named), where each one is (site, server),
which were detached, which migrated with sniffers or a TCP connection.  Every
reference is checked against that state at its step, so a typo, a VM used after its
detach or a migration to a site that cannot hold the VM is reported with the data
path of the offending value (`load.py` turns it into FILE:LINE:COL).

Steps marked `expect: {fail: KIND}` are negative controls: an attach or migration that is
meant to be refused (with that refusal, model.REFUSALS) is not reported (and changes
nothing), but names in them must still exist.  A plain `expect: fail` on a step is refused:
it would pass on any error whatsoever.  Capacity is the declared capacity of the servers (no bookkeeping of
what earlier steps use: the Cloud Manager refuses that at run time).
"""
from __future__ import annotations

from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import Iterator

from ..errors import Problem, SpecError
from ..plan.choose import parse_forced
from ..spec.checks import _ref_hint
from ..spec.load import load_topology
from .checks import problems as check_problems
from .paper import Paper
from .refusals import REFUSALS
from .steps import BY_NAME as STEPS


def scenario_problems(sc, file: str) -> Iterator[Problem]:
    if sc.realize:
        yield from _realize(sc.realize)
    topo_path = Path(file).parent / sc.topology
    try:
        mode = topo_path.stat().st_mode
        what = None if S_ISREG(mode) else "is a directory" if S_ISDIR(mode) else "is not a regular file"
    except FileNotFoundError:
        what = "not found"
    except OSError as exc:              # a name too long, a loop of links, no permission ...
        what = f"cannot be read ({exc.strerror})"
    if what:
        yield Problem(f"topology file {sc.topology!r} {what} (looked at {topo_path})", path=("topology",),
                      hint="the path is relative to the scenario file", at_value=True)
        return
    try:
        topo = load_topology(topo_path)
    except SpecError as exc:
        first = exc.problems[0]
        where = f"{first.file}:{first.line}:{first.col}" if first.line else first.file
        yield Problem(f"topology {sc.topology} has {len(exc.problems)} problem(s), the first: {where}: "
                      f"{first.message}", path=("topology",), at_value=True,
                      hint=f"run `cloudnet-emu validate {topo_path}` and fix them")
        return
    w = Paper(topo)
    for i, step in enumerate(sc.steps):
        path = ("steps", i)
        yield from _step_expect(step, path)
        yield from STEPS[step.action].paper(w, getattr(step, step.action), path + (step.action,), i,
                                            step.expect == "pass")
    for i, c in enumerate(sc.checks):
        yield from check_problems(w, c, ("checks", i))


def _step_expect(step, path: tuple) -> Iterator[Problem]:
    """`expect:` of a step: pass, or {fail: KIND} naming one refusal (a check says expect: inside it)."""
    kinds = ", ".join(REFUSALS)
    e, at = step.expect, path + ("expect",)
    if e == "pass":
        return
    if step.check is not None:
        yield Problem("a check step says `expect:` inside its check, not beside it", path=at,
                      hint="move it into the check: check: {expect: fail, ...}", at_value=True)
    elif e == "fail":
        yield Problem("`expect: fail` on a step would pass on any error whatsoever", path=at,
                      at_value=True, hint=f"say which refusal: expect: {{fail: placement}} (refusals: {kinds})")
    elif not isinstance(e, dict):
        yield Problem(f"expect is pass or {{fail: KIND}}, got {e!r}", path=at, at_value=True,
                      hint=f"write expect: pass, or expect: {{fail: KIND}} with KIND one of {kinds}")
    else:
        for key in e:
            if key != "fail":
                yield Problem(f"unknown key {key!r} in expect", path=at + (key,),
                              hint=f"expect: {{fail: KIND}} has the one key fail ({kinds})")
        if "fail" not in e:
            yield Problem("expect: {...} names no refusal", path=at, at_value=True,
                          hint=f"write expect: {{fail: KIND}} with KIND one of {kinds}")
        elif e["fail"] not in REFUSALS:
            yield Problem(f"unknown refusal {e['fail']!r}", path=at + ("fail",), at_value=True,
                          hint=_ref_hint(str(e["fail"]), REFUSALS, "refusals"))


def _realize(text: str) -> Iterator[Problem]:
    try:
        parse_forced(text)
    except SpecError as exc:
        for p in exc.problems:
            yield Problem(p.message.replace(" in --realize", ""), path=("realize",), hint=p.hint, at_value=True)


