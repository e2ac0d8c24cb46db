"""YAML loading that remembers where every value came from.

`load_yaml(text, file)` returns (data, positions, problems): plain dicts/lists/scalars,
a map from data path (tuple of keys and indexes) to (line, col), 1-based (the value
of a key at path + ('<value>',)), and the
problems found while reading (syntax errors, duplicate keys, the limits of bounds.py).
Keys are recorded at their own position, so an unknown key points at the key, not at its value.
Every YAML description is read here and nowhere else: the limits are checked on the event
stream first, so nothing below (composing, walking, merging) can recurse or expand unboundedly.
"""
from __future__ import annotations

import yaml
from yaml.constructor import SafeConstructor

from ..errors import Problem
from .bounds import check_text

Positions = dict[tuple, tuple[int, int]]


MERGE_TAG = "tag:yaml.org,2002:merge"


def load_yaml(text: str, file: str) -> tuple[object, Positions, list[Problem]]:
    breach = check_text(text, file)
    if breach:
        return None, {}, breach
    root, problems = _compose(text, file)
    if problems:
        return None, {}, problems
    if root is None:
        return {}, {}, []
    walker = _Walker(file)
    data = walker.walk(root, ())
    walker.positions.update({path + ("<value>",): pos for path, pos in walker.values.items()})
    return data, walker.positions, walker.problems


def _compose(text: str, file: str):
    """The node tree, or the syntax problem that stopped YAML (located)."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader), []
    except yaml.reader.ReaderError as exc:    # a character YAML refuses: no mark, an offset
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return None, [Problem(f"YAML refuses the character U+{exc.character:04X} here ({exc.reason})",
                              file=file, line=line, col=col,
                              hint="remove it; a description file is printable text")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = getattr(exc, "problem", None) or str(exc)
        if what.startswith("but ") and getattr(exc, "context", None):
            what = f"{exc.context}, {what}"
        return None, [Problem(f"YAML syntax error: {what}", file=file, line=line, col=col,
                              hint="fix the indentation or quoting near this position")]


def _at(node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Walker:
    """Turns composed nodes into plain data, recording each key's and value's position and the
    problems met on the way (unreadable values, duplicate keys, bad merges)."""

    def __init__(self, file: str):
        self.file = file
        self.constructor = SafeConstructor()
        self.positions: Positions = {}      # keys (and the root) where they are written
        self.values: Positions = {}         # values, stored under path + ("<value>",) at the end
        self.problems: list[Problem] = []

    def scalar(self, node, path):
        try:
            value = self.constructor.construct_object(node, deep=True)
            hash(value)
            return value, True
        except (yaml.YAMLError, ValueError, KeyError, TypeError) as exc:
            line, col = _at(node)
            what = (getattr(exc, "problem", None) or str(exc)).splitlines()[0]
            self.problems.append(Problem(f"cannot read this value: {what}", path=path, file=self.file, line=line,
                                         col=col, hint="write a plain scalar, list or mapping; drop the explicit !!tag"))
            return None, False

    def walk(self, node, path: tuple):
        self.values[path] = _at(node)
        self.positions.setdefault(path, _at(node))
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, path + (i,)) for i, item in enumerate(node.value)]
        value, _ = self.scalar(node, path)
        return value

    def mapping(self, node, path: tuple) -> dict:
        explicit = [(k, v) for k, v in node.value if k.tag != MERGE_TAG]
        try:
            self.constructor.flatten_mapping(node)      # resolves `<<: *anchor` merges
        except yaml.YAMLError as exc:
            line, col = _at(node)
            self.problems.append(Problem(f"cannot merge: {getattr(exc, 'problem', exc)}", path=path, file=self.file,
                                         line=line, col=col, hint="`<<:` takes a mapping or a list of mappings"))
        merged = [(k, v) for k, v in node.value if all(k is not e for e, _ in explicit)]
        out = {}
        for knode, vnode in explicit:
            key, ok = self.scalar(knode, path)
            if not ok:
                continue
            kpath = path + (key,)
            if key in out:
                self.problems.append(Problem(
                    f"duplicate key {key!r} (first defined on line {self.positions[kpath][0]})", path=kpath,
                    file=self.file, line=_at(knode)[0], col=_at(knode)[1],
                    hint="remove one of the two; only the first is read"))
                continue
            self.positions[kpath] = _at(knode)
            out[key] = self.walk(vnode, kpath)
        for knode, vnode in merged:   # merged keys never override explicit ones
            key, ok = self.scalar(knode, path)
            if ok and key not in out:
                self.positions[path + (key,)] = _at(knode)
                out[key] = self.walk(vnode, path + (key,))
        return out


def locate(positions: Positions, path: tuple, value: bool = False) -> tuple[int, int]:
    """Position of the key at `path` (or of its value), or of its nearest ancestor that has one."""
    path = tuple(path)
    if value and path + ("<value>",) in positions:
        return positions[path + ("<value>",)]
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return positions.get((), (1, 1))
