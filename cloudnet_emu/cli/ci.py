"""`cloudnet-emu ci init [--github | --gitlab] [SCENARIO...]`: a pipeline for the user's own CI.

Run from the root of the repository that holds the scenarios.  Everything is checked before
anything is written (exit 2, nothing written): the flavour, every scenario file (the scenario
loader: every problem, located), that each scenario and its topology lie inside this directory
(a CI checkout holds nothing else) under paths a shell never splits, and that the output file
does not exist yet (--force rewrites it).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import args
from ..ci.render import FLAVOURS, SAFE_PATH, render
from ..errors import Problem, SpecError
from ..scenario import batch
from ..scenario.model import load_scenario


@click.group()
def ci():
    """Pipelines that run your scenario files in your own CI (GitHub Actions, GitLab CI)."""


def _inside(path: Path, what: str) -> list[Problem]:
    rel = os.path.relpath(path.resolve(), Path.cwd().resolve())
    if rel == ".." or rel.startswith("../"):
        return [Problem(f"{what} {path} is outside this directory", file=str(path),
                        hint="run `cloudnet-emu ci init` from the root of the repository that holds "
                             "the scenarios and their topologies")]
    return []


def _check(given: tuple[str, ...]) -> list[str]:
    """The scenario arguments as the pipeline names them (relative to here), or SpecError."""
    paths = batch.expand(given)
    batch.validate(paths)
    problems = []
    for p in paths:
        sc = load_scenario(p)
        problems += _inside(p, "scenario") + _inside(p.parent / sc.topology, "its topology")
    out = []
    for g in given:
        rel = os.path.relpath(Path(g).resolve(), Path.cwd().resolve())
        if not SAFE_PATH.fullmatch(rel):
            problems.append(Problem(f"the path {rel!r} has characters a CI shell would split or expand",
                                    file=g, hint="rename it with letters, digits and . _ - + / only"))
        out.append(rel)
    if problems:
        raise SpecError(problems)
    return out


@ci.command("init", context_settings={"ignore_unknown_options": True})
@click.argument("scenarios", nargs=-1, type=click.Path(), metavar="[SCENARIO...]")
@click.option("--github", is_flag=True, help="GitHub Actions (the default): .github/workflows/cloudnet-emu.yml")
@click.option("--gitlab", is_flag=True, help="GitLab CI: .gitlab-ci.yml")
@click.option("--source", help="git URL of cloudnet-emu for the pipeline to fetch "
                               "(default: the CI variable CLOUDNET_EMU_GIT)")
@click.option("--ref", default="main", show_default=True, help="branch, tag or commit of cloudnet-emu")
@click.option("-o", "--output", type=click.Path(), help="where to write (default: the CI's own place)")
@click.option("--force", is_flag=True, help="overwrite an existing file")
def ci_init(scenarios, github, gitlab, source, ref, output, force):
    """Write a pipeline that runs SCENARIO files (default: ./scenarios/) on the CI runner's kernel
    and in the Vagrantfile's VM, with JUnit results and the reports as artifacts."""
    unknown = [a for a in scenarios if a.startswith("-")]     # unknown options land here (context_settings)
    if unknown:
        raise args.BadArgument(f"unknown CI flavour or option {unknown[0]}: --github (GitHub Actions) or --gitlab "
                               f"(GitLab CI); see `cloudnet-emu ci init --help`")
    if github and gitlab:
        raise args.BadArgument("--github and --gitlab: name one CI (one file per CI; run the command twice for both)")
    flavour = "gitlab" if gitlab else "github"
    if not scenarios:
        if not os.path.isdir("scenarios"):
            raise args.BadArgument("name the scenario files (or directories) to run: no ./scenarios/ here")
        scenarios = ("scenarios",)
    try:
        names = _check(scenarios)
    except SpecError as exc:
        for p in exc.problems:
            click.echo(p.format(), err=True)
        click.echo(f"{len(exc.problems)} problem(s); nothing was written.", err=True)
        sys.exit(2)
    target = Path(output or FLAVOURS[flavour])
    if target.exists() and not force:
        raise args.BadArgument(f"{target} exists; nothing was written (--force overwrites it)")
    command = " ".join(["cloudnet-emu ci init", f"--{flavour}"] + ([f"--source {source}"] if source else [])
                       + ([f"--ref {ref}"] if ref != "main" else []) + names)
    text = render(flavour, names, source, ref, command)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    click.echo(f"wrote {target}: {flavour} pipeline for {', '.join(names)}")
    if not source:
        click.echo("set the CI variable CLOUDNET_EMU_GIT to the git URL of cloudnet-emu "
                   "(or run again with --source URL)")
