"""Regenerate the golden files of the broken-topology and broken-scenario corpus.

    python tests/unit/regen_golden.py          # rewrite every corpus/**/NN-name.expected
    python tests/unit/regen_golden.py --check  # exit 1 if any golden file is stale

Topologies are `corpus/NN-name.yaml`, scenarios `corpus/scenarios/NN-name.yaml`
(their `topology:` is relative to the scenario file: the reference topology or a
broken one of the corpus).  Each `NN-name.expected` holds exactly what validation
reports for its `NN-name.yaml`: every `Problem.format()` block (message line plus its
`    hint:` line), in the order `SpecError.problems` sorts them, with the file
written relative to tests/unit (`corpus/NN-name.yaml`, `corpus/scenarios/NN-name.yaml`).
This is the text `cloudnet-emu validate FILE` (and, for scenarios, `cloudnet-emu run
FILE`) prints on stderr when run from tests/unit, minus the final "N problem(s)" line.

Read every regenerated file before committing it: the golden files are a review
of the messages (right line and column? clear? actionable hint?), not just a
snapshot.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
SCENARIOS = CORPUS / "scenarios"
sys.path.insert(0, str(HERE.parents[1]))

from cloudnet_emu.errors import SpecError  # noqa: E402
from cloudnet_emu.scenario.model import load_scenario  # noqa: E402
from cloudnet_emu.spec.load import load_topology  # noqa: E402


def topology_files() -> list[Path]:
    return sorted(CORPUS.glob("[0-9][0-9]-*.yaml"))


def scenario_files() -> list[Path]:
    return sorted(SCENARIOS.glob("[0-9][0-9]-*.yaml"))


def corpus_files() -> list[Path]:
    return topology_files() + scenario_files()


def label(path: Path) -> str:
    """How a corpus file is named in the golden files: relative to tests/unit."""
    return str(path.relative_to(HERE))


@contextlib.contextmanager
def in_tests_unit():
    """Scenario files name their topology relative to themselves: resolve from tests/unit."""
    before = os.getcwd()
    os.chdir(HERE)
    try:
        yield
    finally:
        os.chdir(before)


def problems_of(path: Path) -> list:
    try:
        if path.parent == SCENARIOS:
            with in_tests_unit():
                load_scenario(label(path))
        else:
            with in_tests_unit():
                load_topology(label(path))      # read as bytes: some corpus files are not UTF-8
    except SpecError as exc:
        return exc.problems
    return []


def render(problems) -> str:
    return "".join(p.format() + "\n" for p in problems)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path in corpus_files():
        problems = problems_of(path)
        if not problems:
            print(f"{label(path)}: validates, but every corpus file must be broken", file=sys.stderr)
            return 1
        golden = path.with_suffix(".expected")
        text = render(problems)
        if golden.exists() and golden.read_text() == text:
            continue
        stale.append(golden)
        if not check:
            golden.write_text(text)
    for golden in stale:
        print(f"{'stale' if check else 'wrote'} {label(golden)}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
