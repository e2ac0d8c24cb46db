"""What the live page is fed: the testbed's picture when it changes, link counters every second.

A `Feed` watches two files every POLL_S: state.json (what was built) and the Cloud Manager's
cloud/data.json (VMs, rewritten by attach, detach and at each migration phase), by mtime and
size, so a change reaches the page within POLL_S plus one SSE write.  Link state and
counters come from kernel/facts.py once per COUNTERS_S, as packets per second since the
previous reading; under control=bgp each router's daemons and BGP sessions too (realize/frr.sessions,
vtysh JSON), sent when they change.  Subscribers get ("graph", elements), ("counters", {edge id: ...})
and ("routing", {router: ...}) events; every reading is read-only.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from typing import Optional

from .. import state
from ..errors import StateError
from ..kernel import facts
from ..managers.ledger import data_path, read_data
from ..naming import STATE_ROOT
from ..realize.frr import sessions
from .model import counted, elements, routing

POLL_S = 0.1
COUNTERS_S = 1.0


def snapshot(testbed: str) -> dict:
    """The page's picture of TESTBED now (status "gone" once it has been taken down)."""
    record = state.read(testbed)
    if record is None:
        return {"nodes": [], "edges": [], "vpcs": [], "meta": {"testbed": testbed, "status": "gone"}}
    return elements(record, list(read_data(testbed, "cloud").get("vms", {}).values()))


def _stamp(path: str) -> tuple:
    try:
        st = os.stat(path)
        return st.st_mtime_ns, st.st_size, st.st_ino
    except FileNotFoundError:
        return ()


class Feed:
    def __init__(self, testbed: str):
        self.testbed = testbed
        self.files = [os.path.join(STATE_ROOT, testbed, "state.json"), data_path(testbed, "cloud")]
        self.graph = snapshot(testbed)
        self.counters: dict = {}
        self.routing: dict = {}
        self._stamps = [_stamp(f) for f in self.files]
        self._last: dict = {}
        self._subs: list[queue.Queue] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._watch, daemon=True, name="web-watch"),
                         threading.Thread(target=self._count, daemon=True, name="web-counters")]

    def start(self) -> "Feed":
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)

    def stopped(self) -> bool:
        return self._stop.is_set()

    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=100)
        with self._lock:
            self._subs.append(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            if q in self._subs:
                self._subs.remove(q)

    def _publish(self, kind: str, payload) -> None:
        with self._lock:
            subs = list(self._subs)
        for q in subs:
            try:
                q.put_nowait((kind, payload))
            except queue.Full:       # a stalled page drops events; it reloads the picture on reconnect
                pass

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            stamps = [_stamp(f) for f in self.files]
            if stamps == self._stamps:
                continue
            self._stamps = stamps
            try:
                graph = snapshot(self.testbed)
            except (ValueError, OSError, StateError):    # caught mid-rewrite (replace is atomic, but be safe): next poll
                self._stamps = []
                continue
            if graph != self.graph:
                self.graph = graph
                self._publish("graph", graph)

    def _count(self) -> None:
        while True:
            self.counters = self.read_counters()
            self._publish("counters", self.counters)
            now = self.read_routing()
            if now != self.routing:
                self.routing = now
                self._publish("routing", now)
            if self._stop.wait(COUNTERS_S):
                return

    def read_routing(self) -> dict:
        """{router: {ok, sessions, peers ...}} under control=bgp; {} under static (no router runs FRR,
        realize/frr.sessions reads none) or once the testbed is gone."""
        record = state.read(self.testbed)
        return routing(sessions(self.testbed, state.world(record).control)) if record else {}

    def read_counters(self) -> dict:
        """{edge id: {state, up, rx_packets, tx_packets, rx_pps, tx_pps}} for the links of the picture."""
        graph, now = self.graph, time.monotonic()
        wanted = counted(graph) if graph.get("edges") else []
        by_ns: dict[Optional[str], dict] = {}
        for netns in {n for n, _ in wanted}:
            by_ns[netns] = {link["ifname"]: link for link in facts.links(netns)}
        out = {}
        for e in graph.get("edges", []):
            counter = e["data"].get("counter")
            if not counter:
                continue
            link = by_ns.get(counter[0], {}).get(counter[1])
            if link is None:
                out[e["data"]["id"]] = {"state": "ABSENT", "up": False}
                continue
            prev = self._last.get((counter[0], counter[1]))
            row = {k: link[k] for k in ("state", "up", "rx_packets", "tx_packets", "rx_bytes", "tx_bytes")}
            if prev:
                dt = max(now - prev[0], 1e-3)
                row["rx_pps"] = round((link["rx_packets"] - prev[1]["rx_packets"]) / dt, 1)
                row["tx_pps"] = round((link["tx_packets"] - prev[1]["tx_packets"]) / dt, 1)
            self._last[(counter[0], counter[1])] = (now, link)
            out[e["data"]["id"]] = row
        return out
