"""The Network Manager's book of bandwidth reservations: admission, realization, release.

    unit "resv:<name>"   one reservation: its HTB classes and u32 filters, one class per hop
                         (meta: the request, its slot n and its hops with their rates)

Slot n gives class 1:(0x100+n) on every hop of the reservation; its filters' priority puts more
specific matches first (a pipe inside a hose's prefixes gets its own class), then orders by slot.
Admission counts, per link direction, the rates of every reservation already in the book;
after any change, each touched interface's best-effort class gets what is left (a BestEffort
action, applied by realize/shaping.py).  Planning is pure (plan/reserve.py); this module only keeps the book.

A request (from the Cloud Manager, which resolves VMs to their PEs) is plain data:

    {"name": "db", "vpc": "bravo-vpc", "tenant": "bravo", "kind": "pipe", "bw": 40,
     "ends": [{"name": "b1", "prefix": "10.1.100.2/32", "pe": "pe3", "site": null}, {...}]}
    {"name": "hq", "vpc": ..., "tenant": ..., "kind": "hose", "site": "bravo-hq", "pe": "pe1",
     "subnet": "10.1.1.0/24", "vpc_subnet": "10.1.100.0/24", "ingress": 30, "egress": 20}
"""
from __future__ import annotations

from ..errors import StateError
from ..plan import addressing
from ..plan import reserve as R
from ..plan.actions import BestEffort, TcClass, TcFilter, from_json
from ..world import World

PREFIX = "resv:"
KIND = PREFIX[:-1]


class ReservationBook:
    def __init__(self, testbed: str, info: dict, core: str, ledger, tenant_index):
        self.testbed, self.world, self.core, self.ledger = testbed, World.of(info), core, ledger
        self.links = R.Links(self.world)
        self.t = tenant_index

    def names(self) -> list[str]:
        return sorted(u[len(PREFIX):] for u in self.ledger.units.of_kind(KIND))

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
        return self._hose_hops(req)

    def _hose_hops(self, req: dict) -> list[R.Hop]:
        """The site's attachment circuit both ways, and the core paths between its PE and the PEs
        of the VPC's cloud sites: `egress` toward them, `ingress` back, once per link direction (a
        hose bounds the site's total, wherever it goes)."""
        site, pe, t = req["site"], req["pe"], self.t(req["tenant"])
        node = self.world.sites[site].vrf_node
        out = (req["subnet"], req["vpc_subnet"])
        hops: dict[str, R.Hop] = {}

        def add(node_, dev, link, direction, rate, encap, match, spec):
            if direction not in hops:
                hops[direction] = R.Hop(node_, dev, link, direction, rate, encap, [], self.links.capacity(link),
                                        self.links.delay(link), self.links.loss(link), spec)
            if match not in hops[direction].matches:
                hops[direction].matches.append(match)

        spec = R.specificity(*out)
        link = R.link_id(site, pe)
        if req.get("egress"):
            add(site, pe, link, f"{site}>{pe}", req["egress"], "ip", R.classifier("ip", *out), spec)
        if req.get("ingress"):
            add(node, site, link, f"{pe}>{site}", req["ingress"], "ip", R.classifier("ip", *reversed(out)), spec)
        encap = "mpls" if self.core == "mpls" else "vxlan"
        for far in req.get("cloud_pes", []):
            for rate, a, b, (src, dst) in ((req.get("egress"), pe, far, out), (req.get("ingress"), far, pe, out[::-1])):
                label = addressing.vpn_label(t, self.links.u.pe_index[b])
                for router, dev, peer in self.links.core_path(a, b) if rate else ():
                    add(router, dev, R.link_id(router, peer), f"{router}>{peer}", rate, encap,
                        R.classifier(encap, src, dst, vni=addressing.vni(t), label=label), spec)
        return [h for h in hops.values() if h.capacity is not None]

    def used(self, exclude=()) -> dict[str, float]:
        skip = {PREFIX + n for n in ([exclude] if isinstance(exclude, str) else exclude)}
        return R.usage(self.ledger.units[u]["meta"]["hops"] for u in self.ledger.units.of_kind(KIND) if u not in skip)

    def admit(self, reqs: list[dict], replacing: bool = False) -> list[list[R.Hop]]:
        """The hops each request would take, admitted together (a VM's reservations move at once);
        AdmissionError if any link direction lacks the room for all of them."""
        for req in reqs:
            if replacing:
                self.get(req["name"])           # StateError with the list if there is no such one
            elif self.ledger.has(PREFIX + req["name"]):
                raise StateError(f"reservation {req['name']!r} exists; change it with `cloudnet-emu reserve change`")
        hops = [self.hops(req) for req in reqs]
        what = "reservation" + ("s " if len(reqs) > 1 else " ") + ", ".join(r["name"] for r in reqs)
        R.admit([h for hs in hops for h in hs], self.used(exclude=[r["name"] for r in reqs] if replacing else ()),
                what)
        return hops

    def reserve(self, reqs: list[dict], replacing: bool = False) -> list[dict]:
        """Admit all, then (re)build each: old classes first removed, restored if a build fails."""
        all_hops = self.admit(reqs, replacing)
        old = {r["name"]: self.ledger.units[PREFIX + r["name"]] for r in reqs} if replacing else {}
        touched = set().union(*(self._devs(e["meta"]["hops"]) for e in old.values()))
        for name in old:
            self.ledger.undo(PREFIX + name)
        taken = {self.ledger.meta(PREFIX + n)["slot"] for n in self.names()}
        metas = []
        try:
            for req, hops in zip(reqs, all_hops):
                slot = old[req["name"]]["meta"]["slot"] if replacing else self._free_slot(taken)
                taken.add(slot)
                metas.append(self._build(req, hops, slot))
                touched |= self._devs(metas[-1]["hops"])
        except BaseException:
            for req in reqs[len(metas):]:          # what was not rebuilt gets its old self back
                if req["name"] in old:
                    entry = old[req["name"]]
                    self.ledger.build(PREFIX + req["name"], [], [from_json(a) for a in entry["actions"]],
                                      meta=entry["meta"])
            raise
        finally:
            self._best_effort(touched)
        return metas

    def _build(self, req: dict, hops: list[R.Hop], slot: int) -> dict:
        classid = f"1:{R.CLASS_BASE + slot:x}"
        actions = []
        for h in hops:
            actions.append(TcClass(h.node, h.dev, classid, h.rate, h.capacity, h.delay_ms, h.loss))
            protocol = "mpls_uc" if h.encap == "mpls" else "ip"
            actions += [TcFilter(h.node, h.dev, R.filter_prio(h, slot), protocol, tuple(m), classid)
                        for m in h.matches]
        meta = dict(req, slot=slot, classid=classid, hops=R.to_dicts(hops))
        self.ledger.build(PREFIX + req["name"], [], actions, meta=meta)
        return meta

    def release(self, name: str) -> dict:
        meta = self.get(name)
        self.ledger.undo(PREFIX + name)
        self._best_effort(self._devs(meta["hops"]))
        return meta

    @staticmethod
    def _free_slot(taken: set) -> int:
        try:
            return next(n for n in range(1, R.MAX_SLOT + 1) if n not in taken)
        except StopIteration:
            raise StateError(f"{R.MAX_SLOT} reservations exist: release one first") from None

    @staticmethod
    def _devs(hops: list[dict]) -> set[tuple]:
        return {(h["node"], h["dev"], h["direction"], h["capacity"]) for h in hops}

    def _best_effort(self, devs: set[tuple]) -> None:
        used = self.used()
        self.ledger.run([BestEffort(node, dev, max(capacity - used.get(direction, 0.0), 0.001), capacity)
                         for node, dev, direction, capacity in sorted(devs)])

