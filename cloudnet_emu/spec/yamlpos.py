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


def load_yaml(text: str, file: str) -> tuple[object, Positions, list[Problem]]:
    breach = check_text(text, file)
    if breach:
        return None, {}, breach
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as exc:    # a character YAML refuses: no mark, an offset
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return None, {}, [Problem(f"YAML refuses the character U+{exc.character:04X} here ({exc.reason})",
                                  file=file, line=line, col=col,
                                  hint="remove it; a description file is printable text")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = getattr(exc, "problem", None) or str(exc)
        if what.startswith("but ") and getattr(exc, "context", None):
            what = f"{exc.context}, {what}"
        return None, {}, [Problem(f"YAML syntax error: {what}", file=file, line=line, col=col,
                                  hint="fix the indentation or quoting near this position")]
    positions: Positions = {}
    problems: list[Problem] = []
    if root is None:
        return {}, positions, problems
    constructor = SafeConstructor()
    merge_tag = "tag:yaml.org,2002:merge"

    def at(node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def scalar(node, path):
        try:
            value = constructor.construct_object(node, deep=True)
            hash(value)
            return value, True
        except (yaml.YAMLError, ValueError, KeyError, TypeError) as exc:
            line, col = at(node)
            what = (getattr(exc, "problem", None) or str(exc)).splitlines()[0]
            problems.append(Problem(f"cannot read this value: {what}", path=path, file=file, line=line, col=col,
                                    hint="write a plain scalar, list or mapping; drop the explicit !!tag"))
            return None, False

    def walk(node, path: tuple):
        values[path] = at(node)
        positions.setdefault(path, at(node))
        if isinstance(node, yaml.MappingNode):
            explicit = [(k, v) for k, v in node.value if k.tag != merge_tag]
            try:
                constructor.flatten_mapping(node)      # resolves `<<: *anchor` merges
            except yaml.YAMLError as exc:
                line, col = at(node)
                problems.append(Problem(f"cannot merge: {getattr(exc, 'problem', exc)}", path=path, file=file,
                                        line=line, col=col, hint="`<<:` takes a mapping or a list of mappings"))
            merged = [(k, v) for k, v in node.value if all(k is not e for e, _ in explicit)]
            out = {}
            for knode, vnode in explicit:
                key, ok = scalar(knode, path)
                if not ok:
                    continue
                kpath = path + (key,)
                if key in out:
                    problems.append(Problem(
                        f"duplicate key {key!r} (first defined on line {positions[kpath][0]})", path=kpath,
                        file=file, line=at(knode)[0], col=at(knode)[1],
                        hint="remove one of the two; only the first is read"))
                    continue
                positions[kpath] = at(knode)
                out[key] = walk(vnode, kpath)
            for knode, vnode in merged:   # merged keys never override explicit ones
                key, ok = scalar(knode, path)
                if ok and key not in out:
                    positions[path + (key,)] = at(knode)
                    out[key] = walk(vnode, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [walk(item, path + (i,)) for i, item in enumerate(node.value)]
        value, _ = scalar(node, path)
        return value

    values: Positions = {}
    data = walk(root, ())
    positions.update({path + ("<value>",): pos for path, pos in values.items()})
    return data, positions, problems


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
