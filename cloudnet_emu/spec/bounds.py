"""The limits every description (topology, scenario, ACL file, API line) is held to before it is read.

Conventions: each breach is one `Problem` with a 1-based FILE:LINE:COL and a hint, found without
building anything the limit protects against -- the size before the text is decoded, the expanded
size and the nesting depth from the parser's event stream (aliases are never expanded to count
them), the JSON depth of an API line from a scan of its brackets before `json.loads`.

    MAX_BYTES   4 MiB    a file; the largest topology bench/scale.py makes (3000 VMs) is 185 KB
    MAX_NODES   250000   values after expanding aliases (mappings, lists, scalars); 3000 VMs: 28818
    MAX_DEPTH   64       nested mappings/lists; every real topology and scenario nests at most 7
    MAX_LINE    64 KiB   one API request line; a real request is under 1 KB

docs/limits.md says why these numbers.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import yaml

from ..errors import Problem, SpecError

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 250_000
MAX_DEPTH = 64
MAX_LINE = 64 * 1024

# libyaml's parser when PyYAML has it (fast); the pure-Python one, which the reader uses, otherwise
# and whenever libyaml stops on an error (its own nesting limit, a syntax error): up to the error
# the reader composes exactly the events the Python parser gives.  Neither parser recurses.
_FAST_LOADERS = (yaml.CSafeLoader,) if getattr(yaml, "__with_libyaml__", False) else ()


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte `offset` of `data`."""
    start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[start:offset].decode("utf-8", "replace")) + 1


def read_spec(path: str | Path, file: str | None = None) -> str:
    """The text of a description file; SpecError (one located problem) if it cannot be read,
    is larger than MAX_BYTES (read no further than that) or is not UTF-8."""
    file = str(path) if file is None else file
    try:
        # O_NONBLOCK: a FIFO (or a device) must not hang the open; only a regular file is read.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise SpecError([Problem(f"cannot read file: {exc.strerror}", file=file, hint="check the path")]) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "Is a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
        raise SpecError([Problem(f"cannot read file: {what}", file=file, hint="check the path")])
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(MAX_BYTES + 1)
        except OSError as exc:
            raise SpecError([Problem(f"cannot read file: {exc.strerror}", file=file,
                                     hint="check the path")]) from None
    if len(data) > MAX_BYTES:
        line, col = _position(data, MAX_BYTES)
        raise SpecError([Problem(f"the file is larger than {MAX_BYTES // 2**20} MiB (the limit); "
                                 "reading stopped here", file=file, line=line, col=col,
                                 hint="a topology of 3000 VMs is 185 KB: is this the right file?")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise SpecError([Problem(f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot start or continue a "
                                 "character here", file=file, line=line, col=col,
                                 hint="save the file as UTF-8 text; is this the right file?")]) from None


def check_text(text: str, file: str) -> list[Problem]:
    """The problems of YAML `text` that would make reading it unbounded (empty if none): too large,
    too many values once aliases are expanded, nested too deep, an alias inside its own anchor.
    A syntax error is left to the reader, which reports it with its own position."""
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return [Problem(f"the text is larger than {MAX_BYTES // 2**20} MiB (the limit)", file=file, line=1, col=1,
                        hint="a topology of 3000 VMs is 185 KB: is this the right file?")]
    upto = len(text)
    for loader in _FAST_LOADERS:
        try:
            return _check_events(loader(text), file)
        except yaml.YAMLError as exc:
            # The Python parser checks up to where libyaml stopped: its scanner is quadratic in
            # unclosed flow brackets, and libyaml's own nesting limit (1000) lies beyond ours.
            mark = getattr(exc, "problem_mark", None)
            upto = mark.index + 1 if mark else upto
    try:
        return _check_events(yaml.SafeLoader(text[:upto]), file)
    except yaml.YAMLError:
        return []


def _check_events(loader, file: str) -> list[Problem]:
    def problem(message, mark, hint):
        return [Problem(message, file=file, line=mark.line + 1, col=mark.column + 1, hint=hint)]
    total = 0                   # values in the expanded document so far
    level = deepest = 0         # open collections; the most open at once (aliases included)
    expanded: dict[str, tuple[int, int]] = {}   # anchor -> (values, depth) of what it stands for
    open_: list[tuple] = []     # per open collection: (anchor, total at its start, deepest before it)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                if any(anchor == event.anchor for anchor, _, _ in open_):
                    return problem(f"alias *{event.anchor} stands for the collection it is inside "
                                   "(an endless document)", event.start_mark,
                                   "an alias can only repeat a mapping or list that ends before it")
                size, depth = expanded.get(event.anchor, (1, 0))   # undefined: the reader says so
                total += size
                deepest = max(deepest, level + depth)
                if level + depth > MAX_DEPTH:
                    return problem(f"this alias nests the document more than {MAX_DEPTH} levels deep (the limit)",
                                   event.start_mark, "flatten it: real topologies and scenarios nest 7 levels")
            elif isinstance(event, yaml.ScalarEvent):
                total += 1
                if event.anchor:
                    expanded[event.anchor] = (1, 0)
            elif isinstance(event, yaml.CollectionStartEvent):
                total += 1
                level += 1
                if level > MAX_DEPTH:
                    return problem(f"nested more than {MAX_DEPTH} levels deep (the limit)", event.start_mark,
                                   "flatten it: real topologies and scenarios nest 7 levels")
                open_.append((event.anchor, total - 1, deepest))
                deepest = level
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, before, outer = open_.pop()
                if anchor:
                    expanded[anchor] = (total - before, deepest - level + 1)
                deepest = max(outer, deepest)
                level -= 1
            if total > MAX_NODES:
                return problem(f"the document expands to more than {MAX_NODES} values (the limit), "
                               "counting each alias as everything it stands for", event.start_mark,
                               "write fewer or smaller aliases; a topology of 3000 VMs has 28818 values")
    finally:
        loader.dispose()
    return []


_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def json_depth_problem(line: str, file: str, number: int) -> list[Problem]:
    """A problem if JSON `line` nests more than MAX_DEPTH arrays/objects (strings skipped), found by
    a scan of its brackets, so `json.loads` never recurses that deep."""
    level = 0
    for token in _JSON_TOKEN.finditer(line):
        c = token.group()
        if c in "[{":
            level += 1
            if level > MAX_DEPTH:
                return [Problem(f"nested more than {MAX_DEPTH} levels deep (the limit)", file=file, line=number,
                                col=token.start() + 1, hint='a request is one flat JSON object, e.g. {"op": "list"}')]
        elif c in "]}":
            level -= 1
    return []
