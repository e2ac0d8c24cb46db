"""report.html: a scenario's report as one self-contained page (no network needed to open it).

Inline CSS, no script; the verdict table (every step and check with what was expected and what
came out), the metrics, and each migration's timeline (the runner's migration-*.png in the
same directory, inlined as data: URIs so the page can be mailed or archived alone).
"""
from __future__ import annotations

import base64
import glob
import html
import os

from ..verdict import summary
from .entries import entries

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#1d2330}
h1{font-size:22px}h2{font-size:16px;margin-top:1.6em;border-bottom:1px solid #dde}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eef;vertical-align:top}
th{background:#f3f4f7}.pass{color:#1d7a3a;font-weight:bold}.fail,.error{color:#b22222;font-weight:bold}
.not-checked{color:#a07800;font-weight:bold}.summary{font-size:16px;padding:.4em .8em;border-radius:6px;display:inline-block}
.ok{background:#e2f5e8}.bad{background:#fbe3e3}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #dde}code{font-size:12px}
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _result(r: str) -> str:
    return f'<span class="{_e(r.replace(" ", "-"))}">{_e(r)}</span>'


def render(report: dict, directory: str) -> str:
    rows = []
    steps = {id(s): i for i, s in enumerate(report["steps"], 1)}
    for kind, e in entries(report):
        rows.append("<tr>" + "".join([
            f"<td>{steps[id(e)] if kind == 'step' else ''}</td>", f"<td>{_e(e['name'])}</td>",
            f"<td>{_e(e['action'] if kind == 'step' else e['kind'])}</td>", f"<td>{_e(e['expected'])}</td>",
            f"<td>{_result(e['result'])}</td>",
            f"<td class=num>{e['duration_ms']:.1f}</td>" if kind == "step" else "<td></td>",
            f"<td>{_e(e['detail'])}</td>"]) + "</tr>")
    metrics = "".join(f"<tr><td><code>{_e(k)}</code></td><td class=num>{_e(v)}</td></tr>"
                      for k, v in sorted(report.get("metrics", {}).items()))
    figures = []
    for png in sorted(glob.glob(os.path.join(directory, "migration-*.png"))):
        with open(png, "rb") as f:
            data = base64.b64encode(f.read()).decode()
        figures.append(f'<figure><img alt="{_e(os.path.basename(png))}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{_e(os.path.basename(png))}</figcaption></figure>")
    real = report.get("realization", {})
    degradations = real.get("degradations", [])
    return "\n".join([
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>scenario {_e(report['scenario'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>scenario {_e(report['scenario'])}</h1>",
        f'<p class="summary {"ok" if report["ok"] else "bad"}" id="summary">'
        f'{"all as expected" if report["ok"] else "NOT as expected"}: '
        f'{_e(summary(e["result"] for _, e in entries(report)))}</p>',
        f"<p>topology <code>{_e(report['topology'])}</code>; realization: "
        + _e(", ".join(f"{k}={v}" for k, v in real.items() if k != "degradations")) + "</p>",
        "<h2>degradations</h2><ul>" + ("".join(f"<li>{_e(d)}</li>" for d in degradations) or "<li>none</li>") + "</ul>",
        '<h2>verdicts</h2><table id="verdicts"><tr><th></th><th>step / check</th><th>kind</th><th>expected</th>'
        "<th>result</th><th>ms</th><th>detail</th></tr>" + "".join(rows) + "</table>",
        '<h2>metrics</h2><table id="metrics"><tr><th>metric</th><th>value</th></tr>' + metrics + "</table>",
        '<h2>migration timelines</h2><div id="timelines">' + ("".join(figures) or "<p>no migration in this scenario</p>")
        + "</div>", "</body></html>"])


def write(report: dict, directory: str) -> str:
    path = os.path.join(directory, "report.html")
    with open(path, "w") as f:
        f.write(render(report, directory))
    return path
