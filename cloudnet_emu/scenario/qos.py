"""Scenario parts for network resources: the `reserve` step and the `throughput` and `latency` checks.

    - reserve: {name: db, vpc: bravo-vpc, between: [proc, db], bw: 40}     (create; `change: true` to change)
    - reserve: {name: db, release: true}
    - check: {throughput: {from: bravo-h1, to: proc, reservation: db, competing: {from: bravo-h2, to: bulk}}}
    - check: {latency: {from: bravo-h1, to: proc, tolerance_ms: 3}}

throughput: iperf3 (TCP) from `from` to `to` for `seconds`, while a competing best-effort
iperf3 flow runs on the same links (the first second, TCP's slow start, is left out); passes when the measured flow gets at least `min_share`
(default 0.9) of the reservation's rate, or at least `min_mbit`.  Rates are on the wire (as HTB
counts them): iperf3's goodput plus the Ethernet/IP/TCP headers of each segment.
latency: the minimum ping RTT between two endpoints against twice the path's one-way delay (the
netem delays on its links), within `tolerance_ms`.  Where a delay on the path was degraded away
(no netem in this kernel: the record's degradations) the check is "not checked", naming the
degradation: comparing against 0 ms would pass without evidence.  Likewise a throughput check
whose path's shaping was degraded.  Both return (status, detail) (verdict.Status).
"""
from __future__ import annotations

import time
from typing import Optional

from pydantic import ConfigDict, Field

from .. import state
from ..errors import StateError
from ..kernel import iperf, ping
from ..managers import reserving
from ..plan.reserve import End, Links, link_id
from ..spec.model import Name, Strict
from ..verdict import Status

IPERF_PORT, COMPETING_PORT = 5301, 5302
FILLED = 0.8        # two competing flows that carry less than this share of their shared link did not compete


class ReserveStep(Strict):
    name: Name
    vpc: Optional[Name] = None
    between: Optional[list[str]] = Field(None, min_length=2, max_length=2)
    bw: Optional[float] = Field(None, gt=0)
    site: Optional[Name] = None
    ingress: Optional[float] = Field(None, ge=0)
    egress: Optional[float] = Field(None, ge=0)
    change: bool = False
    release: bool = False


class Flow(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    src: str = Field(alias="from")
    to: str


class ThroughputCheck(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    src: str = Field(alias="from")
    to: str
    reservation: Optional[Name] = Field(None, description="pass at min_share of this reservation's rate")
    min_mbit: Optional[float] = Field(None, gt=0)
    min_share: float = Field(0.9, gt=0, le=1)
    competing: Optional[Flow] = Field(None, description="a best-effort flow run at the same time")
    seconds: float = Field(4, gt=0, le=60)


class LatencyCheck(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    src: str = Field(alias="from")
    to: str
    tolerance_ms: float = Field(3.0, gt=0)
    count: int = Field(20, gt=1, le=1000)


def run_reserve(w, r: ReserveStep) -> str:
    if r.release:
        w.cloud.unreserve(r.name)
        return f"released {r.name}"
    spec = r.model_dump(include={"between", "bw", "site", "ingress", "egress"}, exclude_none=True)
    meta = w.cloud.reserve(r.name, r.vpc, change=r.change, **spec)
    return f"{'changed' if r.change else 'reserved'} {r.name}: {reserving.describe(meta)}"


def _iperf_server(w, name: str, port: int):
    return iperf.server(w.netns(name), port)


def _iperf_client(w, src: str, dst: str, port: int, seconds: float):
    # one second more than measured: the first (TCP's slow start) is omitted from the result
    return iperf.client(w.netns(src), w.address(dst), port, seconds + 1, omit=1)


def _mbit(proc, timeout: float) -> float:
    data = iperf.report(proc, timeout)
    # HTB counts frames: Ethernet (14) + IP (20) + TCP with timestamps (32) ride on every MSS of payload
    mss = iperf.mss(data)
    return iperf.received_bps(data) / 1e6 * (mss + 66) / mss


def _path_links(w, a: End, b: End) -> set[str]:
    """The degradation names ("link X--Y") of the links between two ends."""
    links = Links(w.world)
    out = {f"link {e.site}--{e.pe}" for e in (a, b) if e.site}
    for router, _dev, peer in links.core_path(a.pe, b.pe):
        out |= {f"link {router}--{peer}", f"link {peer}--{router}"}
    return out


def shared_capacity(w, flows: list[tuple[End, End]]) -> Optional[float]:
    """Mbit/s of the narrowest shaped link that every flow (a, b) crosses (None: they share none)."""
    links = Links(w.world)
    ids = []
    for a, b in flows:
        ids.append({link_id(e.site, e.pe) for e in (a, b) if e.site}
                   | {link_id(r, p) for r, _dev, p in links.core_path(a.pe, b.pe)})
    caps = [links.capacity(i) for i in set.intersection(*ids)]
    return min((c for c in caps if c), default=None)


def degraded(w, a: End, b: End, words: tuple[str, ...]) -> list[str]:
    """The record's degradations on the path from a to b that name one of WORDS (delay, rate ...)."""
    on_path = _path_links(w, a, b)
    return [d for d in w.record.get("degradations", [])
            if d.split(":")[0] in on_path and any(word in d for word in words)]


def throughput(w, c: ThroughputCheck) -> tuple[Status, str]:
    lost = degraded(w, _end(w, c.src), _end(w, c.to), ("rate", "bandwidth", "shaping"))
    if lost:
        return Status.NOT_CHECKED, "shaping degraded on this path: " + "; ".join(lost)
    want = c.min_mbit
    if c.reservation:
        r = next((x for x in w.cloud.reservations() if x["name"] == c.reservation), None)
        if r is None:
            raise StateError(f"no reservation {c.reservation!r}")
        if r["kind"] == "pipe":
            rate = r["bw"]
        else:        # into the hose's site, or out of it
            rate = r["ingress"] if _end(w, c.to).site == r["site"] else r["egress"]
        want = c.min_share * rate
    if want is None:
        raise StateError("a throughput check names a reservation or min_mbit")
    servers = [_iperf_server(w, c.to, IPERF_PORT)]
    if c.competing:
        servers.append(_iperf_server(w, c.competing.to, COMPETING_PORT))
    try:
        time.sleep(0.3)
        clients = [_iperf_client(w, c.src, c.to, IPERF_PORT, c.seconds)]
        if c.competing:
            clients.append(_iperf_client(w, c.competing.src, c.competing.to, COMPETING_PORT, c.seconds))
        got = [_mbit(p, c.seconds + 20) for p in clients]
    finally:
        for p in servers:
            if p.poll() is None:
                p.kill()
            p.wait()
    detail = f"{c.src} -> {c.to} {got[0]:.1f} Mbit/s on the wire (needs {want:.1f})"
    if c.competing:
        detail += f", competing best effort {c.competing.src} -> {c.competing.to} {got[1]:.1f} Mbit/s"
        cap = shared_capacity(w, [(_end(w, c.src), _end(w, c.to)), (_end(w, c.competing.src), _end(w, c.competing.to))])
        if cap and not c.reservation and sum(got) < FILLED * cap:
            # a share of the link is judged only under contention: flows that left it half empty (a
            # starved sender, a machine too busy to fill it) prove no share.  A reservation is judged
            # either way: a link left unfilled because the shaping misclassifies is what it catches
            return Status.ERROR, (f"no contention: the two flows carried {sum(got):.1f} Mbit/s together, under "
                                  f"{FILLED:.0%} of the {cap:g} Mbit/s link they share; {detail}")
        detail += f" (together {sum(got):.1f} of the shared {cap:g} Mbit/s)" if cap else ""
    return (Status.PASS if got[0] >= want else Status.FAIL), detail


def _end(w, name: str) -> End:
    vm = w.cloud.data["vms"].get(name)
    world = state.world(w.record)
    if vm is not None:
        return End(name, f"{vm['ip']}/32", world.clouds[vm["site"]].pe)
    for site, m in world.sites.items():
        if name in m.hosts or name == site:
            return End(name, m.subnet, m.pe, site)
    raise StateError(f"{name!r} is neither a VM nor an enterprise host or site")


def latency(w, c: LatencyCheck) -> tuple[Status, str]:
    links = Links(w.world)
    a, b = _end(w, c.src), _end(w, c.to)
    realized, declared = links.one_way_delay(a, b), links.one_way_delay(a, b, declared=True)
    if realized != declared:
        lost = degraded(w, a, b, ("delay",)) or [f"declared one-way {declared:g} ms, realized {realized:g} ms"]
        return Status.NOT_CHECKED, "delay degraded on this path: " + "; ".join(lost)
    out = ping.run(w.netns(c.src), w.address(c.to), count=c.count, interval="0.05", wait=2, timeout=None)
    rtt = ping.rtt(out.stdout)
    if rtt is None:
        raise StateError(f"no ping replies from {c.to}: {out.stdout.strip()[-200:]}")
    rtt_min, rtt_avg, _ = rtt
    expected = 2 * realized
    detail = (f"RTT min {rtt_min:.2f} ms, avg {rtt_avg:.2f} ms; expected {expected:.2f} ms "
              f"+/- {c.tolerance_ms:g} (path one-way {realized:g} ms)")
    return (Status.PASS if abs(rtt_min - expected) <= c.tolerance_ms else Status.FAIL), detail

