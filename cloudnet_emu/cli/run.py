"""`cloudnet-emu run A.yaml B.yaml | run DIR`: the terminal side of scenario/batch.py.

Every file is validated before root is asked for or anything is built (exit 2, every problem);
then each scenario runs on its own fresh testbed with its progress and table as for one file,
and a last block says which came out as expected.  Returns the exit status: 0 iff all did.
"""
from __future__ import annotations

import json
from typing import Optional

import click

from . import args
from .. import report
from ..errors import CloudnetError
from ..scenario import batch, runner


def run_many(scenarios: tuple[str, ...], report_dir: Optional[str], testbed: Optional[str], as_json: bool) -> int:
    paths = batch.expand(scenarios)
    batch.validate(paths)
    if testbed:
        raise args.BadArgument("--testbed runs one scenario on a running testbed; several scenarios each get "
                               "a fresh testbed: drop --testbed or name one scenario file")
    args.need_root()

    def run_one(path, sub):
        try:
            result = report.with_progress(lambda progress: runner.run(str(path), sub, None, progress),
                                          quiet=as_json, title=f"run {path}")
        except CloudnetError as exc:       # recorded as an error by batch.run_all; the next one runs
            if not as_json:
                click.echo(f"{path}: the run failed: {exc}", err=True)
            raise
        if not as_json:
            report.scenario_table(result)
        return result

    summary = batch.run_all(paths, report_dir, run_one)
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        for s in summary["scenarios"]:
            c = s["counts"]
            click.echo(f"{'ok    ' if s['ok'] else 'NOT OK'} {s['file']} ({s['scenario']}): "
                       + ", ".join(f"{c[k]} {k}" for k in ("pass", "fail", "error", "not checked") if c[k])
                       + (f" -> {s['report_dir']}/" if s["report_dir"] else ""))
        good = sum(s["ok"] for s in summary["scenarios"])
        click.echo(f"{good} of {len(paths)} scenario(s) came out as expected"
                   + (f"; combined JUnit in {report_dir}/report.xml" if report_dir else ""))
    return 0 if summary["ok"] else 1
