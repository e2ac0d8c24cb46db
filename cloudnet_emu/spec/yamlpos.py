"""YAML loading that remembers where every value came from.

`load_yaml(text, file)` returns (data, positions, problems): plain dicts/lists/scalars,
a map from data path (tuple of keys and indexes) to (line, col), 1-based, and the
problems found while reading (syntax errors, duplicate keys).  Keys are recorded at
their own position, so an unknown key points at the key, not at its value.
"""
from __future__ import annotations

import yaml
from yaml.constructor import SafeConstructor

from ..errors import Problem

Positions = dict[tuple, tuple[int, int]]


def load_yaml(text: str, file: str) -> tuple[object, Positions, list[Problem]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = getattr(exc, "problem", None) or str(exc)
        return None, {}, [Problem(f"YAML syntax error: {what}", file=file, line=line, col=col,
                                  hint="fix the indentation or quoting near this position")]
    positions: Positions = {}
    problems: list[Problem] = []
    if root is None:
        return {}, positions, problems
    constructor = SafeConstructor()

    def walk(node, path: tuple):
        positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            out = {}
            for knode, vnode in node.value:
                key = constructor.construct_object(knode, deep=True)
                kpath = path + (key,)
                if key in out:
                    first = positions.get(kpath, (0, 0))[0]
                    problems.append(Problem(
                        f"duplicate key {key!r} (first defined on line {first})", path=kpath,
                        file=file, line=knode.start_mark.line + 1, col=knode.start_mark.column + 1,
                        hint="remove one of the two; YAML would silently keep only the last"))
                    continue
                positions[kpath] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
                out[key] = walk(vnode, kpath)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [walk(item, path + (i,)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    return walk(root, ()), positions, problems


def locate(positions: Positions, path: tuple) -> tuple[int, int]:
    """Position of `path`, or of its nearest ancestor that has one."""
    path = tuple(path)
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return positions.get((), (1, 1))
