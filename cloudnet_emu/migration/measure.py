"""Measuring a migration from what the probes saw, and drawing its timeline.

    outage_ms              first lost probe's send time -> first probe after it that came back
    outage_beyond_pause_ms outage minus the configured stop-and-copy pause (>= 0)
    lost                   probes sent and never echoed

The timeline (PNG, matplotlib): phases as bands, each probe as a dot at its send time
(delivered up, lost down), gratuitous ARPs as vertical lines.
"""
from __future__ import annotations

from typing import Optional


def outage(probe: dict, pause_ms: float) -> dict:
    sent = {int(k): v for k, v in probe["sent"].items()}
    echoed = {int(k): v for k, v in probe["echoed"].items()}
    lost = sorted(s for s in sent if s not in echoed)
    out = {"probes_sent": len(sent), "probes_lost": len(lost)}
    if sent:
        span = max(sent.values()) - min(sent.values())
        out["probe_rate_pps"] = round(len(sent) / span, 1) if span > 0 else 0.0
    if not lost:
        out.update(outage_ms=0.0, outage_beyond_pause_ms=0.0)
        return out
    first = sent[lost[0]]
    back = [sent[s] for s in sorted(sent) if s > lost[0] and s in echoed]
    if back:
        ms = (back[0] - first) * 1000
        out["outage_ms"] = round(ms, 2)
    else:                                       # never came back while the stream ran
        ms = (max(sent.values()) - first) * 1000
        out["outage_ms"] = round(ms, 2)
        out["recovered"] = False
    out["outage_beyond_pause_ms"] = round(max(0.0, ms - pause_ms), 2)
    return out


def timeline(path: str, migration: dict, probe: Optional[dict], title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = migration["times"]
    t0 = t["start"]
    fig, ax = plt.subplots(figsize=(11, 3.6))
    bands = [("prepare", t["start"], t["precopy_start"], "#dddddd"),
             ("pre-copy", t["precopy_start"], t["precopy_end"], "#9ecae1"),
             ("pause", t["pause"], t["resume"], "#fc9272"),
             ("announce", t["resume"], t["end"], "#a1d99b")]
    for label, a, b, colour in bands:
        ax.axvspan((a - t0) * 1000, (b - t0) * 1000, color=colour, alpha=0.6, label=label)
    if probe:
        sent = {int(k): v for k, v in probe["sent"].items()}
        echoed = {int(k) for k in probe["echoed"]}
        ok = [(v - t0) * 1000 for s, v in sent.items() if s in echoed]
        bad = [(v - t0) * 1000 for s, v in sent.items() if s not in echoed]
        ax.scatter(ok, [1] * len(ok), s=2, color="#31a354", label=f"probe delivered ({len(ok)})")
        ax.scatter(bad, [0] * len(bad), s=6, color="#de2d26", label=f"probe lost ({len(bad)})")
    for i, g in enumerate(migration.get("garps_sent", [])):
        ax.axvline((g - t0) * 1000, color="#756bb1", linestyle="--", linewidth=1, label="gratuitous ARP" if i == 0
                   else None)
    ax.set_yticks([0, 1], ["lost", "delivered"])
    ax.set_ylim(-0.5, 1.5)
    ax.set_xlabel("ms since the migration started")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=6, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
