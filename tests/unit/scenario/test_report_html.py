"""report.html without root: one self-contained page with the verdicts, metrics and timelines."""
from __future__ import annotations

import re
from html.parser import HTMLParser

from cloudnet_emu.scenario.report import write

REPORT = {
    "scenario": "demo <b>", "topology": "topologies/cloudnet.yaml", "ok": False,
    "realization": {"router": "netns", "core": "vxlan", "datapath": "netdev",
                    "degradations": ["link pe1--p1: delay 2ms not applied (no netem in this kernel)"]},
    "steps": [{"name": "attach web", "action": "attach", "expected": "pass", "result": "pass", "status": "pass",
               "ok": True, "duration_ms": 41.5, "detail": "web on dc1-s1"},
              {"name": "ping", "action": "check", "expected": "pass", "result": "fail", "status": "fail",
               "ok": False, "duration_ms": 5.0, "detail": "x"}],
    "checks": [{"name": "web -> bravo-h1", "kind": "ping", "expected": "pass", "result": "fail", "status": "fail",
                "ok": False, "detail": "3/3 lost & <script>"}],
    "metrics": {"migration_total_ms.1": 812.4, "up_s": 1.9},
    "counts": {"pass": 1, "fail": 1, "error": 0, "not checked": 0},
}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.srcs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.srcs += [v for k, v in attrs if k in ("src", "href")]


def _png(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [1, 0])
    fig.savefig(path)
    plt.close(fig)


def test_report_html_is_self_contained_with_verdicts_metrics_and_timelines(tmp_path):
    _png(tmp_path / "migration-1-web.png")
    write(REPORT, str(tmp_path))
    page = (tmp_path / "report.html").read_text()
    parser = _Tags()
    parser.feed(page)
    assert parser.srcs and all(s.startswith("data:image/png;base64,") for s in parser.srcs)
    assert "script" not in parser.tags                       # escaped, never run
    assert "&lt;script&gt;" in page and "demo &lt;b&gt;" in page
    assert re.search(r"web -&gt; bravo-h1.*?class=\"fail\">fail", page, re.S)
    assert "migration_total_ms.1" in page and "812.4" in page
    assert "no netem in this kernel" in page and "NOT as expected" in page
    assert (tmp_path / "report.json").exists() and (tmp_path / "report.xml").exists()


def test_report_html_without_migrations_says_so(tmp_path):
    write({**REPORT, "ok": True}, str(tmp_path))
    page = (tmp_path / "report.html").read_text()
    assert "no migration in this scenario" in page and "all as expected" in page
