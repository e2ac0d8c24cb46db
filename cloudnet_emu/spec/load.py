"""Topology files -> validated `Topology`, or one SpecError listing every problem.

    read file -> YAML with positions (yamlpos) -> pydantic model (model) -> relations (checks)

Problems from all stages and all files are collected before anything is raised, so
the user sees every problem at once, each as FILE:LINE:COL with a hint.
"""
from __future__ import annotations

import difflib
import re
import typing
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..errors import Problem, SpecError
from .bounds import read_spec
from .checks import check_topology
from .model import Topology
from .yamlpos import locate, load_yaml
import copy


def load_topology(path: str | Path) -> Topology:
    """Load and validate one topology file; raise SpecError with every problem."""
    return parse_topology(read_spec(path), str(path))


def parse_topology(text: str, file: str = "<input>") -> Topology:
    return parse_document(text, file, Topology, check_topology, "a topology file is a mapping (name:, provider:, "
                          "tenants: ...)", "topologies/cloudnet.yaml")


def parse_document(text: str, file: str, model: type[BaseModel], relations, shape: str, example: str):
    """YAML text -> validated `model`, with `relations(obj)` yielding the cross-object problems."""
    data, positions, problems = load_yaml(text, file)
    if data is None and problems:
        raise SpecError(problems)       # a document that is only `~` or `!` is empty: said below
    if not isinstance(data, dict) or not data:
        if data in (None, {}, []) or data == "":
            raise SpecError(problems + [Problem("the file is empty", file=file, line=1, col=1,
                                                hint=f"start from {example}")])
        line, col = positions.get((), (1, 1))
        raise SpecError(problems + [Problem(shape, file=file, line=line, col=col, hint=f"see {example}")])
    obj = None
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        problems += _merge_unions([_from_pydantic(err, model) for err in errors])
        # Unknown keys do not make the rest doubtful: drop them and check the
        # relations too, so one run reports both kinds of problem.
        if all(err["type"] == "extra_forbidden" for err in errors):
            try:
                obj = model.model_validate(_without(data, [tuple(e["loc"]) for e in errors]))
            except ValidationError:
                pass    # a consequence of the unknown key (e.g. a step left with no action): already said
    if obj is not None:
        problems += list(relations(obj))
    for p in problems:
        p.file = file
        if not p.line:
            p.line, p.col = locate(positions, p.path, value=p.at_value)
    if problems:
        raise SpecError(problems)
    if isinstance(obj, Topology):
        obj._source, obj._positions = file, positions
    return obj


def place(topo: Topology, problem: Problem) -> Problem:
    """PROBLEM, at its data path in the file TOPO was read from (file, line, column)."""
    problem.file = topo._source
    problem.line, problem.col = locate(topo._positions, problem.path, value=problem.at_value)
    return problem


_SCENARIO_KEY = re.compile(r"^(steps|checks|topology)\s*:", re.M)


def is_scenario(path: str | Path) -> bool:
    """A scenario has a top-level steps:, checks: or topology: key (a topology has none of
    them), or sits in a directory named `scenarios` (for files too broken to tell)."""
    path = Path(path)
    if "scenarios" in path.parent.parts:
        return True
    try:
        return bool(_SCENARIO_KEY.search(read_spec(path)))
    except SpecError:
        return False      # unreadable, too large or not text: the topology loader says which


_PYDANTIC_HINTS = {
    "missing": "add it",
    "greater_than": "use a positive number",
    "greater_than_equal": "use a larger number",
    "less_than_equal": "use a smaller number",
    "string_pattern_mismatch": "use lower-case letters, digits and '-', starting with a letter",
    "string_too_long": "use a shorter name: it becomes part of 15-character interface names",
    "literal_error": "use one of the listed values",
    "list_type": "write a list: [a, b] or one '- item' per line",
    "model_type": "write a mapping: key: value",
    "too_short": "add at least one entry",
    "int_type": "write a whole number",
    "int_parsing": "write a whole number",
    "float_parsing": "write a number",
    "string_type": "write it as text; quote it if YAML reads it as a number, a date or a boolean",
    "bool_type": "write true or false",
    "dict_type": "write a mapping: key: value",
    "bool_parsing": "write true or false",
    "too_long": "remove the extra entries",
    "invalid_key": "write the key as text; quote it if YAML reads it as a number, a boolean or null",
    "float_type": "write a number",
    "int_from_float": "write a whole number",
}
# A kind of problem not named above still gets a hint: where the allowed shapes are written down.
_FALLBACK_HINT = "`cloudnet-emu schema` shows what this key takes"

_VALUE_HINTS = {
    "subnet": "write an IPv4 network with zero host bits, e.g. 10.1.1.0/24",
    "prefix": "write an IPv4 network with zero host bits, e.g. 198.51.100.0/24",
    "ip": "a bare IPv4 address, e.g. 10.1.1.10; the prefix length comes from the subnet",
    "delay": "write a number with a unit, e.g. 5ms, 500us, 0.1s",
    "port": "a port 1-65535, a range '8000-8099', or a list of them",
    "steps": "keep one action in this step; write one step per action",
    "checks": "keep one kind in this check; write one check per kind",
    "check": "keep one kind in this check; write one check per kind",
}


def _from_pydantic(err: dict, root: type[BaseModel] = Topology) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1], root)
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.5)
        hint = f"did you mean {near[0]!r}? " if near else ""
        hint += f"allowed keys here: {', '.join(allowed)}"
        return Problem(f"unknown key {loc[-1]!r}", path=loc, hint=hint)
    msg = err["msg"]
    hint = _PYDANTIC_HINTS.get(kind, "")
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        field = next((p for p in reversed(loc) if isinstance(p, str)), "")
        hint = _VALUE_HINTS.get(field, "write an IPv4 network, e.g. 100.64.0.0/16" if "pools" in loc else "")
    elif kind == "too_short":
        least = err.get("ctx", {}).get("min_length", 1)
        msg = "needs at least one entry" if least == 1 else \
            f"needs at least {least} entries, has {err['ctx'].get('actual_length', len(err.get('input') or ()))}"
        if least > 1:
            hint = f"write {least} entries"
    elif kind == "too_long":
        msg = f"has {err['ctx'].get('actual_length')} entries, at most {err['ctx'].get('max_length')}"
    elif kind in ("model_type", "dict_type"):
        got = err.get("input")
        msg = f"expected a mapping (key: value), got {'an empty value' if got is None else type(got).__name__}"
    elif kind == "missing":
        msg = f"missing required key {loc[-1]!r}"
    elif kind == "invalid_key":
        key = err.get("input", loc[-1])         # loc holds True as 1: the input is the key as YAML read it
        msg = f"a key must be text, got {type(key).__name__} {key!r}"
    elif kind == "string_too_long":
        msg = f"{err['input']!r} is too long ({len(str(err['input']))} characters, at most {err['ctx']['max_length']})"
    elif kind == "string_pattern_mismatch" and loc[-1] == "mac":
        msg, hint = f"invalid MAC {err['input']!r}", "write six lower-case hex pairs, e.g. 02:00:00:00:00:01"
    elif kind == "string_pattern_mismatch":
        msg = f"{err['input']!r} is not a valid name"
    elif "input" in err and not isinstance(err["input"], (dict, list)):
        msg = f"{msg}, got {err['input']!r}"
    if kind in ("too_short", "too_long") and loc and loc[-1] == "endpoints":
        hint = "a link joins two nodes: endpoints: [A, B]"
    return Problem(msg, path=loc, hint=hint or _FALLBACK_HINT, at_value=kind not in ("missing", "invalid_key"))


_UNION_TAG = re.compile(r"^(str|int|float|bool|list\[.*\]|dict\[.*\])$")


def _merge_unions(problems: list[Problem]) -> list[Problem]:
    """A value that fits no branch of a union (`to: NAME or [NAMES]`) is one problem, not one per branch
    with pydantic's branch tags ('list[str]') in the data path."""
    branches: dict[tuple, list] = {}
    got: dict[tuple, str] = {}
    out: list = []
    for p in problems:
        tags = [x for x in p.path if isinstance(x, str) and _UNION_TAG.match(x)]
        if not tags:
            out.append(p)
            continue
        cut = tuple(p.path[:list(p.path).index(tags[0])])
        if cut not in branches:
            out.append(cut)
        branches.setdefault(cut, []).append(tags[0])
        if ", got " in p.message and len(p.path) == len(cut) + 1:
            got.setdefault(cut, p.message.rsplit(", got ", 1)[1])
    words = {"str": "a name", "list[str]": "a list of names", "bool": "true or false", "int": "a whole number",
             "list[int]": "a list of whole numbers", "float": "a number"}
    for i, item in enumerate(out):
        if isinstance(item, tuple):
            kinds = " or ".join(words.get(t, t) for t in dict.fromkeys(branches[item]))
            out[i] = Problem(f"expected {kinds}" + (f", got {got[item]}" if item in got else ""), path=item,
                             hint=f"write {kinds}", at_value=True)
    return out


def _fields_at(loc: tuple, root: type[BaseModel] = Topology) -> list[str]:
    """Names of the keys allowed at a data path of the model."""
    tp: typing.Any = root
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(part, int):
            args = typing.get_args(tp)
            tp = args[0] if args else tp
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _unwrap(tp):
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Union:
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        elif origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        else:
            return tp


def _without(data, paths):
    data = copy.deepcopy(data)
    for path in paths:
        node = data
        for part in path[:-1]:
            node = node[part]
        node.pop(path[-1], None)
    return data
