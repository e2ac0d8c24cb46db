"""Measuring a migration from what the probes saw, and drawing its timeline.

Without the migration's phase times (`outage(probe, pause_ms)`, as the soak and the vswitchd
restart use it):

    outage_ms              first lost probe's send time -> first probe after it that came back
    outage_beyond_pause_ms outage minus the configured stop-and-copy pause (>= 0)
    probes_lost            probes sent and never echoed

With them (`outage(probe, pause_ms, times)`, a scenario's migrate step), loss is told apart by
phase, so congestion of the pre-copy stream is not called the outage:

    loss_prepare     probes lost before the pre-copy started
    loss_precopy     lost while the memory was copied (the copy competing with the probes: congestion)
    loss_switchover  lost from the pause to the first probe delivered after the resume: the outage
    loss_announce    lost after that first delivery (the VM announcing itself, stragglers)
    outage_ms        the pause -> the send time of the first probe delivered after the resume
    outage_beyond_pause_ms outage_ms minus the configured pause (>= 0)

METRICS names the report.json metrics of each (`migration_<key>.N`), in one place.

The timeline (PNG, matplotlib): phases as bands (each labelled with its probe loss), each probe as
a dot at its send time (delivered up, lost down), gratuitous ARPs as vertical lines.
"""
from __future__ import annotations

from typing import Optional

PHASES = ("prepare", "precopy", "switchover", "announce")
# outage() key -> report.json metric (suffixed .N, the migration's number in the scenario)
METRICS = {"probes_lost": "migration_probes_lost", "outage_ms": "migration_outage_ms",
           "outage_beyond_pause_ms": "migration_outage_beyond_pause_ms", "probe_rate_pps": "migration_probe_rate_pps",
           **{f"loss_{p}": f"migration_loss_{p}" for p in PHASES}}


def metrics(out: dict, n: int) -> dict[str, float]:
    """The report.json metrics of one migration's outage() result."""
    return {f"{name}.{n}": out[key] for key, name in METRICS.items() if key in out}


def outage(probe: dict, pause_ms: float, times: Optional[dict] = None) -> dict:
    sent = {int(k): v for k, v in probe["sent"].items()}
    echoed = {int(k): v for k, v in probe["echoed"].items()}
    lost = sorted(s for s in sent if s not in echoed)
    out = {"probes_sent": len(sent), "probes_lost": len(lost)}
    if sent:
        span = max(sent.values()) - min(sent.values())
        out["probe_rate_pps"] = round(len(sent) / span, 1) if span > 0 else 0.0
    if times is not None:
        return _by_phase(out, sent, echoed, lost, pause_ms, times)
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


def _by_phase(out: dict, sent: dict, echoed: dict, lost: list, pause_ms: float, times: dict) -> dict:
    pause, resume = times["pause"], times["resume"]
    back = min((t for s, t in sent.items() if s in echoed and t >= resume), default=None)
    if back is None:                            # nothing came back after the resume while the stream ran
        end = max(sent.values(), default=resume)
        out["recovered"] = False
    else:
        end = back
    bounds = {"prepare": (float("-inf"), times.get("precopy_start", pause)),
              "precopy": (times.get("precopy_start", pause), pause),
              "switchover": (pause, end if back is not None else float("inf")),
              "announce": (end if back is not None else float("inf"), float("inf"))}
    for phase, (a, b) in bounds.items():
        out[f"loss_{phase}"] = sum(1 for s in lost if a <= sent[s] < b)
    ms = max(0.0, (end - pause) * 1000)
    out["outage_ms"] = round(ms, 2)
    out["outage_beyond_pause_ms"] = round(max(0.0, ms - pause_ms), 2)
    return out


def loss_text(out: dict) -> str:
    """One line for a step's detail: the outage and the loss of each phase."""
    text = f"outage {out['outage_ms']:.1f} ms"
    if "loss_switchover" in out:
        text += (f" (switchover: {out['loss_switchover']} probes lost)"
                 f", pre-copy congestion {out['loss_precopy']} lost, announce {out['loss_announce']} lost")
        if out["loss_prepare"]:
            text += f", before the pre-copy {out['loss_prepare']} lost"
    text += f"; {out['probes_lost']} of {out['probes_sent']} probes lost in all"
    if out.get("recovered") is False:
        text += "; the probes never came back"
    return text


def timeline(path: str, migration: dict, probe: Optional[dict], title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = migration["times"]
    t0 = t["start"]
    fig, ax = plt.subplots(figsize=(11, 3.6))
    loss = migration.get("outage", {})

    def lost(phase):
        return f" (lost {loss[f'loss_{phase}']})" if f"loss_{phase}" in loss else ""
    bands = [("prepare" + lost("prepare"), t["start"], t["precopy_start"], "#dddddd"),
             ("pre-copy" + lost("precopy"), t["precopy_start"], t["precopy_end"], "#9ecae1"),
             ("pause; switchover" + lost("switchover"), t["pause"], t["resume"], "#fc9272"),
             ("announce" + lost("announce"), t["resume"], t["end"], "#a1d99b")]
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
