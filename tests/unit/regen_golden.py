"""Regenerate the golden files of the broken-topology corpus.

    python tests/unit/regen_golden.py          # rewrite every corpus/NN-name.expected
    python tests/unit/regen_golden.py --check  # exit 1 if any golden file is stale

Each `corpus/NN-name.expected` holds exactly what validation reports for
`corpus/NN-name.yaml`: every `Problem.format()` block (message line plus its
`    hint:` line), in the order `SpecError.problems` sorts them, with the file
written relative as `corpus/NN-name.yaml`.  This is the text `cloudnet-emu
validate corpus/NN-name.yaml` prints on stderr (run from tests/unit), minus the
final "N problem(s)" line.

Read every regenerated file before committing it: the golden files are a review
of the messages (right line and column? clear? actionable hint?), not just a
snapshot.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
sys.path.insert(0, str(HERE.parents[1]))

from cloudnet_emu.errors import SpecError  # noqa: E402
from cloudnet_emu.spec.load import parse_topology  # noqa: E402


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("[0-9][0-9]-*.yaml"))


def label(path: Path) -> str:
    """How a corpus file is named in the golden files: relative to tests/unit."""
    return f"{CORPUS.name}/{path.name}"


def problems_of(path: Path) -> list:
    try:
        parse_topology(path.read_text(), label(path))
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
        print(f"{'stale' if check else 'wrote'} {CORPUS.name}/{golden.name}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
