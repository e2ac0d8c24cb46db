"""The pipeline files `cloudnet-emu ci init` writes: templates (ci/templates/) filled in.

Conventions: scenario paths are relative to the user's repository root, where the command runs
and where the CI checks the repository out; they are restricted to characters a shell never
splits or expands (SAFE_PATH), so the generated files carry them unquoted in one variable.
The shell work itself lives in cloudnet-emu's scripts/ci-scenarios, fetched with the same
commit as the code it drives; the files hold only the CI's own plumbing (runners, artifacts,
test reports).  Placeholders are @NAME@ (no `$`: both CIs' syntax uses it).
"""
from __future__ import annotations

import json
import re
import textwrap
from importlib import resources
from typing import Optional

FLAVOURS = {"github": ".github/workflows/cloudnet-emu.yml", "gitlab": ".gitlab-ci.yml"}
OUT = "cloudnet-emu-report"
SHAPES = ("runner-kernel", "vagrant-vm")
SAFE_PATH = re.compile(r"[A-Za-z0-9._/+-]+")

# Relative to a shape's OUT/<shape>; `**/` also matches nothing (one scenario writes into OUT itself).
ARTIFACTS = ("doctor.json", "summary.json", "**/report.xml", "**/report.json", "**/report.html",
             "**/migration-*.png")

FETCH = """\
# cloudnet-emu itself: this repository if it is cloudnet-emu, else CLOUDNET_EMU_GIT at CLOUDNET_EMU_REF.
if [ -f cloudnet_emu/pipeline.py ] && [ -f scripts/ci-scenarios ]; then
  pwd > .cloudnet-emu-dir
else
  if [ -z "${CLOUDNET_EMU_GIT:-}" ]; then
    echo "set the CI variable CLOUDNET_EMU_GIT to the git URL of cloudnet-emu" >&2
    exit 2
  fi
  command -v git >/dev/null || { apt-get update -q && apt-get install -y -q --no-install-recommends git ca-certificates; }
  git init -q .cloudnet-emu
  git -C .cloudnet-emu fetch -q --depth 1 "$CLOUDNET_EMU_GIT" "${CLOUDNET_EMU_REF:-main}"
  git -C .cloudnet-emu checkout -q FETCH_HEAD
  echo "$PWD/.cloudnet-emu" > .cloudnet-emu-dir
fi"""


def template(flavour: str) -> str:
    return resources.files(__package__).joinpath("templates", f"{flavour}.yml").read_text()


def _yaml_str(s: str) -> str:
    """A YAML double-quoted scalar (JSON's escaping is valid YAML)."""
    return json.dumps(s)


def render(flavour: str, scenarios: list[str], source: Optional[str], ref: str, command: str) -> str:
    """The file for FLAVOUR running SCENARIOS; SOURCE None: the CI variable CLOUDNET_EMU_GIT supplies it."""
    fields = {"COMMAND": command, "OUT": OUT, "REF": _yaml_str(ref), "SCENARIOS": _yaml_str(" ".join(scenarios))}
    if flavour == "github":
        fields["SOURCE"] = _yaml_str(source) if source else "${{ vars.CLOUDNET_EMU_GIT }}"
        fields["FETCH"] = textwrap.indent(FETCH, " " * 10)
        art_indent = " " * 12
    else:
        variables = {"CLOUDNET_EMU_REF": ref, "CLOUDNET_EMU_SCENARIOS": " ".join(scenarios)}
        if source:
            variables = {"CLOUDNET_EMU_GIT": source, **variables}
        fields["VARIABLES"] = "\n".join(f"  {k}: {_yaml_str(v)}" for k, v in variables.items())
        fields["FETCH"] = textwrap.indent(FETCH, " " * 8)
        art_indent = " " * 6
    for shape in SHAPES:
        lines = [f"{OUT}/{shape}/{a}" for a in ARTIFACTS]
        fields[f"ARTIFACTS:{shape}"] = "\n".join(
            f"{art_indent}{'' if flavour == 'github' else '- '}{line}" for line in lines)
    text = template(flavour)
    for key, value in fields.items():
        text = text.replace(f"@{key}@", value)
    return text
