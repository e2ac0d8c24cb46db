"""The limits of spec/bounds.py: real descriptions are far inside them; each breach is one located
problem, found without expanding or recursing (the corpus holds the golden messages of each)."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cloudnet_emu.cli import main
from cloudnet_emu.errors import SpecError
from cloudnet_emu.spec import bounds
from cloudnet_emu.spec.load import load_topology, parse_topology

REPO = Path(__file__).resolve().parents[3]


def _scale_topology(vms: int) -> str:
    spec = importlib.util.spec_from_file_location("scale", REPO / "bench" / "scale.py")
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    return yaml.safe_dump(scale.topology(vms))


def _events(text: str) -> tuple[int, int]:
    values = depth = level = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            values += 1
        if isinstance(event, yaml.CollectionStartEvent):
            level += 1
            depth = max(depth, level)
        elif isinstance(event, yaml.CollectionEndEvent):
            level -= 1
    return values, depth


def test_the_largest_bench_topology_is_well_inside_every_limit():
    text = _scale_topology(3000)
    values, depth = _events(text)
    assert len(text.encode()) * 20 < bounds.MAX_BYTES
    assert values * 8 < bounds.MAX_NODES
    assert depth * 8 < bounds.MAX_DEPTH
    assert bounds.check_text(text, "scale.yaml") == []


def test_shipped_descriptions_are_inside_the_limits():
    for path in sorted((REPO / "topologies").glob("*.yaml")) + sorted((REPO / "scenarios").glob("*.yaml")):
        assert bounds.check_text(path.read_text(), str(path)) == []


def test_a_file_over_the_size_limit_is_refused_where_the_limit_falls(tmp_path):
    big = tmp_path / "big.yaml"
    row = "# " + "x" * 61 + "\n"                   # 64 bytes a line
    big.write_text("name: big\n" + row * (bounds.MAX_BYTES // len(row) + 2))
    with pytest.raises(SpecError) as exc:
        load_topology(big)
    (p,) = exc.value.problems
    assert "larger than 4 MiB" in p.message and p.hint
    assert (p.line, p.col) == (2 + (bounds.MAX_BYTES - 10) // 64, 1 + (bounds.MAX_BYTES - 10) % 64)
    result = CliRunner().invoke(main, ["validate", str(big)])
    assert result.exit_code == 2 and result.stderr.startswith(f"{big}:{p.line}:{p.col}: the file is larger")


def test_text_over_the_size_limit_is_refused_too():
    with pytest.raises(SpecError, match="larger than 4 MiB"):
        parse_topology("name: x\n" + "#" * bounds.MAX_BYTES + "\n")


def test_values_just_inside_the_limit_are_read():
    # 9^5 + ... values through aliases, 64 levels: near the limits, not beyond (it counts, it does not guess)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 5)]
    assert bounds.check_text("\n".join(lines) + "\n", "f") == []
    inner = bounds.MAX_DEPTH - 1                                  # the top mapping is a level too
    assert bounds.check_text("x: " + "[" * inner + "]" * inner, "f") == []
    assert bounds.check_text("[" * bounds.MAX_DEPTH + "]" * bounds.MAX_DEPTH, "f") == []
    assert bounds.check_text("[" * (bounds.MAX_DEPTH + 1) + "]" * (bounds.MAX_DEPTH + 1), "f")[0].col == 65


def test_block_nesting_is_held_to_the_same_depth():
    deep = "".join("  " * i + f"k{i}:\n" for i in range(bounds.MAX_DEPTH + 5))
    (p,) = bounds.check_text(deep, "f")
    assert "nested more than 64" in p.message and p.line == bounds.MAX_DEPTH + 1


def test_a_syntax_error_is_left_to_the_reader():
    assert bounds.check_text("a: [1, 2\n", "f") == []
    with pytest.raises(SpecError, match="YAML syntax error"):
        parse_topology("a: [1, 2\n")


@pytest.mark.parametrize("line, col", [
    (json.dumps({"op": "list", "x": "[" * 200}), None),           # brackets inside a string do not count
    ("[" * 65 + "]" * 65, 65),
    ('{"a": ' * 70 + "1" + "}" * 70, 6 * 64 + 1),
    ('["\\"' + "[" * 100 + '"]', None),                           # an escaped quote does not end the string
])
def test_json_depth_scan(line, col):
    got = bounds.json_depth_problem(line, "<stdin>", 4)
    assert (got[0].col if got else None) == col
    assert all(p.line == 4 and p.hint for p in got)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "topo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match="not a regular file"):
        load_topology(fifo)
