"""The package's layers, bottom to top, and the rule that an import never runs back up them.

A module may import from its own layer and the ones below.  The table is the one place the layers
are written down (docs/architecture.md shows it); a new module gets a row or the test names it.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "cloudnet_emu"

# bottom to top; a name is a module or package path under cloudnet_emu, the longest match wins
LAYERS = [
    ("description", ["errors", "naming", "spec", "world", "verdict", "acl.model", "acl.checks"]),
    ("kernel", ["kernel"]),
    ("plan", ["plan", "probe", "acl.nft"]),
    ("realization", ["realize", "state"]),
    ("managers", ["managers", "migration", "acl.pe"]),
    ("runtime", ["lifecycle", "vpcs", "links", "checks", "isolation", "frames", "attack", "acl.flow", "scenario",
                 "pipeline"]),
    ("front door", ["report", "graph", "web", "ci", "cli", "api", "__main__", "acl", "__init__"]),
]


def layer(module: str) -> int:
    best = None
    for i, (_, names) in enumerate(LAYERS):
        for n in names:
            if (module == n or module.startswith(n + ".")) and (best is None or len(n) > len(best[1])):
                best = (i, n)
    assert best is not None, f"cloudnet_emu.{module} is in no layer of tests/unit/test_layers.py"
    return best[0]


def imports(path: Path):
    """(line, imported module under cloudnet_emu) for every import of ours in PATH."""
    rel = path.relative_to(ROOT).with_suffix("")
    package = list(rel.parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package[:len(package) - (node.level - 1)]
        elif node.module and node.module.split(".")[0] == "cloudnet_emu":
            base = []
            node_module = node.module.split(".", 1)[1] if "." in node.module else None
            yield from _targets(node, base, node_module)
            continue
        else:
            continue
        yield from _targets(node, base, node.module)


def _targets(node, base, module):
    if module:
        yield node.lineno, ".".join(base + module.split("."))
    else:          # from . import a, b: each name is a module of that package
        for alias in node.names:
            yield node.lineno, ".".join(base + [alias.name])


def test_no_import_runs_back_up_the_layers():
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        me = ".".join(p for p in rel.parts if p != "__init__") or "__init__"
        for line, target in imports(path):
            if layer(target) > layer(me):
                upward.append(f"cloudnet_emu/{rel}.py:{line}: {me} ({LAYERS[layer(me)][0]}) imports {target} "
                              f"({LAYERS[layer(target)][0]})")
    assert upward == []


def test_every_module_has_a_layer():
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        layer(".".join(p for p in rel.parts if p != "__init__") or "__init__")


def test_every_module_imports_on_its_own():
    """Imported first, in a fresh interpreter's view of the package, every module loads: an import
    cycle that only works in one order (a name taken from a half-initialised module) fails here."""
    failed = subprocess.run([sys.executable, "-c", _IMPORT_EACH], capture_output=True, text=True, timeout=300,
                            cwd=ROOT.parent)
    assert failed.returncode == 0 and failed.stdout == "", failed.stdout + failed.stderr


_IMPORT_EACH = """
import importlib, pathlib, sys
mods = sorted(".".join(p.with_suffix("").parts).removesuffix(".__init__")
              for p in pathlib.Path("cloudnet_emu").rglob("*.py") if p.stem != "__main__")
for m in mods:
    for k in [k for k in sys.modules if k == "cloudnet_emu" or k.startswith("cloudnet_emu.")]:
        del sys.modules[k]
    try:
        importlib.import_module(m)
    except ImportError as exc:
        print(f"{m}: {exc}")
"""
