"""`isolated: {from, to}`: nothing the senders send to the destinations lands anywhere it must not."""
from __future__ import annotations

from typing import Optional

from ... import isolation
from ...verdict import Status, Verdict, judged
from ..kind import CheckKind
from ..sending import names
from ..world import World
from .reach import Pair, paper, title_of


def _tenant_of(w: World, node: str) -> Optional[str]:
    vm = w.cloud.data["vms"].get(node)
    if vm is not None:
        return vm.get("tenant") or w.cloud.data.get("vpcs", {}).get(vm["vpc"], {}).get("tenant")
    for name, site in w.world.sites.items():
        if node == name or node in site.hosts:
            return site.tenant
    return None


def _tenant_addresses(w: World, tenant: Optional[str]) -> set[str]:
    if tenant is None:
        return set()
    out = set()
    for site in w.world.tenant_sites(tenant).values():
        out |= set(site.hosts.values()) | {site.gateway}
    out |= {vm["ip"] for vm in w.cloud.vms() if _tenant_of(w, vm["name"]) == tenant}
    return out


def run(w: World, body: Pair, expect: str) -> Verdict:
    """Judged where a leak would land (isolation.py): watchers in every namespace of every other
    tenant, each proven live by its control; a reply is a leak only where the address does not also
    exist in the sender's own tenant."""
    probes = []
    for s in names(body.src):
        tenant = _tenant_of(w, s)
        own = _tenant_addresses(w, tenant)
        for d in names(body.to):
            if s != d:
                addr = w.address(d)
                probes.append(isolation.Probe(s, addr, tenant, f"{s} -> {d}", reply_is_leak=addr not in own))
    verdicts = isolation.run(w.testbed, probes, isolation.watchers(w.testbed))
    worst = next((st for st in (Status.ERROR, Status.FAIL) if any(v.status is st for v in verdicts)), Status.PASS)
    shown = [v for v in verdicts if v.status is worst] or verdicts
    detail = "; ".join(f"{v.name}: {v.status} ({v.reason})" for v in shown)
    if worst is Status.PASS:
        detail = f"{len(verdicts)} probe(s), each: {verdicts[0].reason}" if verdicts else "no probes"
    return judged(worst, detail, {"verdicts": [v.to_dict() for v in verdicts]})


KIND = CheckKind("isolated", Pair, paper, run, lambda body: title_of("isolated", body), "isolation")
