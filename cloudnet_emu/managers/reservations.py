"""The Network Manager's book of bandwidth reservations: admission, realization, release.

    unit "resv:<name>"   one reservation: its HTB classes and u32 filters, one per hop
                         (meta: the request, its slot n and its hops with their rates)

Slot n gives class 1:(0x100+n) and filter priority 100+n on every hop of the reservation.
Admission counts, per link direction, the rates of every reservation already in the book;
after any change, each touched interface's best-effort class gets what is left
(realize/shaping.py).  Planning is pure (plan/reserve.py); this module only keeps the book.

A request (from the Cloud Manager, which resolves VMs to their PEs) is plain data:

    {"name": "db", "vpc": "bravo-vpc", "tenant": "bravo", "kind": "pipe", "bw": 40,
     "ends": [{"name": "b1", "prefix": "10.1.100.2/32", "pe": "pe3", "site": null}, {...}]}
    {"name": "hq", "vpc": ..., "tenant": ..., "kind": "hose", "site": "bravo-hq", "pe": "pe1",
     "subnet": "10.1.1.0/24", "vpc_subnet": "10.1.100.0/24", "ingress": 30, "egress": 20}
"""
from __future__ import annotations

from ..errors import StateError
from ..plan import reserve as R
from ..plan.actions import TcClass, TcFilter
from ..realize import shaping
from ..realize.apply import Kernel

PREFIX = "resv:"


class ReservationBook:
    def __init__(self, testbed: str, info: dict, core: str, ledger, tenant_index):
        self.testbed, self.info, self.core, self.ledger = testbed, info, core, ledger
        self.links = R.Links(info)
        self.t = tenant_index

    def names(self) -> list[str]:
        return sorted(u[len(PREFIX):] for u in self.ledger.units if u.startswith(PREFIX))

    def get(self, name: str) -> dict:
        unit = PREFIX + name
        if not self.ledger.has(unit):
            raise StateError(f"no reservation {name!r}; reservations: {', '.join(self.names()) or 'none'}")
        return self.ledger.meta(unit)

    def hops(self, req: dict) -> list[R.Hop]:
        if req["kind"] == "pipe":
            a, b = (R.End(**e) for e in req["ends"])
            t = self.t(req["tenant"])
            return (R.pipe_hops(self.links, self.core, t, a, b, req["bw"]) +
                    R.pipe_hops(self.links, self.core, t, b, a, req["bw"]))
        site, pe = req["site"], req["pe"]
        node = self.info["sites"][site]["vrf_node"]
        hops = []
        for rate, args in ((req.get("egress"), (site, pe, f"{site}>{pe}", req["subnet"], req["vpc_subnet"])),
                           (req.get("ingress"), (node, site, f"{pe}>{site}", req["vpc_subnet"], req["subnet"]))):
            if rate:
                n, dev, direction, src, dst = args
                link = R.link_id(site, pe)
                hops.append(R.Hop(n, dev, link, direction, rate, "ip", [R.classifier("ip", src, dst)],
                                  self.links.capacity(link), self.links.delay(link)))
        return [h for h in hops if h.capacity is not None]

    def used(self, exclude: str = "") -> dict[str, float]:
        return R.usage(e["meta"]["hops"] for u, e in self.ledger.units.items()
                       if u.startswith(PREFIX) and u != PREFIX + exclude)

    def admit(self, req: dict, replacing: bool = False) -> list[R.Hop]:
        """The hops `req` would take; AdmissionError if any link direction lacks the room."""
        if not replacing and self.ledger.has(PREFIX + req["name"]):
            raise StateError(f"reservation {req['name']!r} exists; change it with `cloudnet-emu reserve change`")
        hops = self.hops(req)
        R.admit(hops, self.used(exclude=req["name"] if replacing else ""), f"reservation {req['name']}")
        return hops

    def reserve(self, req: dict, replacing: bool = False) -> dict:
        hops = self.admit(req, replacing)
        slot = self.ledger.meta(PREFIX + req["name"])["slot"] if replacing else self._free_slot()
        touched = self._devs(self.get(req["name"])["hops"]) if replacing else set()
        if replacing:
            self.ledger.undo(PREFIX + req["name"])
        classid, prio = f"1:{R.CLASS_BASE + slot:x}", 100 + slot
        actions = []
        for h in hops:
            actions.append(TcClass(h.node, h.dev, classid, h.rate, h.capacity, h.delay_ms))
            protocol = "mpls_uc" if h.encap == "mpls" else "ip"
            actions += [TcFilter(h.node, h.dev, prio, protocol, tuple(m), classid) for m in h.matches]
        meta = dict(req, slot=slot, classid=classid, hops=R.to_dicts(hops))
        try:
            self.ledger.build(PREFIX + req["name"], [], actions, meta=meta)
        finally:
            self._best_effort(touched | self._devs(meta["hops"]))
        return meta

    def release(self, name: str) -> dict:
        meta = self.get(name)
        self.ledger.undo(PREFIX + name)
        self._best_effort(self._devs(meta["hops"]))
        return meta

    def _free_slot(self) -> int:
        taken = {self.ledger.meta(PREFIX + n)["slot"] for n in self.names()}
        return next(n for n in range(1, 0xefff) if n not in taken)

    @staticmethod
    def _devs(hops: list[dict]) -> set[tuple]:
        return {(h["node"], h["dev"], h["direction"], h["capacity"]) for h in hops}

    def _best_effort(self, devs: set[tuple]) -> None:
        used = self.used()
        k = Kernel(self.testbed)
        try:
            for node, dev, direction, capacity in devs:
                shaping.best_effort(k.netns(node), dev, max(capacity - used.get(direction, 0.0), 0.001), capacity)
        finally:
            k.close()

