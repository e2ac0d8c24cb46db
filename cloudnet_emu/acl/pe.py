"""The Network Manager's access rules at the PEs: where they go, resolving names, applying, counting.

A VPC's rules are active while it has at least one cloud endpoint; they go to every PE of
the VPC (the PEs of its cloud endpoints and of the enterprise sites it joins), into the
namespace holding the tenant's VRF there: the PE's own namespace with a kernel VRF (one
chain per tenant VRF, entered by the VRF's member interfaces), or the VRF's namespace
`<pe>.<tenant>` in the fallback (the whole namespace is the VRF).  Rule endpoints are
resolved to addresses at every change of the VPC's membership (attach, detach, migration:
the Network Manager sees each as an endpoint, advertise or withdraw), so a rule follows a VM.

State in the Network Manager's ledger data: "acl" (vpc -> rules set at run time, overriding
the topology's) and "acl_at" (vpc -> the PEs its rules were last applied at).
"""
from __future__ import annotations

import json
from typing import Optional

from .. import naming
from ..errors import Problem, SpecError
from ..plan.actions import AclTable
from ..realize.acl import counters
from .checks import check_acl, parse_cidr
from .model import Acl
from .nft import ident, split_counter


class AclAtPes:
    def __init__(self, network):
        self.nm = network                 # the NetworkManager (its ledger, info and placements)
        self.testbed = network.testbed
        self.world = network.world    # read-only here: the manager never changes info
        self.data = network.ledger.data

    # --- what the rules are ------------------------------------------------------------
    def acl(self, vpc: str) -> Optional[Acl]:
        runtime = self.data.get("acl", {})
        spec = runtime[vpc] if vpc in runtime else (self.world.vpcs[vpc].acl if vpc in self.world.vpcs else None)
        return Acl.model_validate(spec) if spec else None

    def set(self, vpc: str, spec: Optional[dict]) -> dict:
        """Replace a VPC's rules (None: none), checked against the running testbed, then applied."""
        v = self.world.vpcs.get(vpc)
        if v is None:
            raise SpecError([Problem(f"unknown VPC {vpc!r}", hint=f"VPCs: {', '.join(self.world.vpcs)}")])
        acl = Acl.model_validate(spec) if spec is not None else None
        if acl is not None:
            problems = list(check_acl(acl, ("acl",), v.type, self._vms(vpc), self._sites(vpc)))
            if problems:
                raise SpecError(problems)
        self.data.setdefault("acl", {})[vpc] = acl.model_dump(by_alias=True) if acl else None
        self.nm.ledger.save()
        self.sync(vpc)
        return {"vpc": vpc, "rules": len(acl.rules) if acl else 0, "pes": sorted(self.data["acl_at"].get(vpc, {}))}

    def _hosts(self, vpc: str) -> list[dict]:
        return [e["meta"] for u, e in self.nm.ledger.units.items() if u.startswith(f"host:{vpc}/")]

    def _vms(self, vpc: str) -> list[str]:
        planned = [vm["name"] for vm in self.world.vpcs[vpc].vms]
        return planned + [h["vm"] for h in self._hosts(vpc) if h.get("vm") and h["vm"] not in planned]

    def _sites(self, vpc: str) -> list[str]:
        return list(self.world.vpcs[vpc].sites) + list(self.world.clouds)

    def resolve(self, vpc: str, acl: Acl) -> dict[str, Optional[list[str]]]:
        """Every endpoint word -> CIDRs now: VMs by their advertised /32, sites by subnet or VMs there."""
        hosts = self._hosts(vpc)
        out: dict[str, Optional[list[str]]] = {}
        for rule in acl.rules:
            for w in rule.sources + rule.targets:
                if w == "any":
                    out[w] = None
                elif parse_cidr(w) is not None:
                    out[w] = [str(parse_cidr(w))]
                elif w in self.world.sites:
                    out[w] = [self.world.sites[w].subnet]
                elif w in self.world.clouds:
                    out[w] = sorted(h["prefix"] for h in hosts if h.get("site") == w)
                else:
                    out[w] = [h["prefix"] for h in hosts if h.get("vm") == w]
        return out

    # --- where they go -------------------------------------------------------------------
    def pes(self, vpc: str) -> set[str]:
        if self.acl(vpc) is None:       # first: most VPCs have none, and the units are many
            return set()
        eps = [self.nm.ledger.units[u]["meta"] for u in self.nm.ledger.units.of_kind("ep") if u.startswith(f"ep:{vpc}@")]
        if not eps:
            return set()
        return {e["pe"] for e in eps} | {self.world.sites[s].pe for s in self.world.vpcs[vpc].sites}

    def _place(self, tenant: str, pe: str):
        try:
            return self.nm._endpoint_placement(tenant, pe)
        except KeyError:           # the VRF is gone with the VPC's last endpoint there
            return None

    def sync(self, *vpcs: str) -> None:
        """Re-apply the namespaces where these VPCs' rules were or now are (idempotent)."""
        changed = "acl_at" not in self.data
        applied = self.data.setdefault("acl_at", {})     # vpc -> {pe: [node, master]}
        touched: set[str] = set()
        for vpc in vpcs:
            if vpc not in self.world.vpcs or self.world.vpcs[vpc].type != "l3vpn":
                continue
            tenant = self.world.vpcs[vpc].tenant
            before = applied.get(vpc, {})
            now = {}
            for pe in sorted(self.pes(vpc)):
                p = self._place(tenant, pe)
                if p is not None:
                    now[pe] = [p.node, p.master]
            touched |= {node for node, _ in list(before.values()) + list(now.values())}
            changed |= applied.get(vpc) != now
            applied[vpc] = now
        if changed:         # every advertise syncs: rewrite the data only when it moved
            self.nm.ledger.save()
        for node in sorted(touched):
            self._apply(node)

    def _apply(self, node: str) -> None:
        """This namespace's whole table from every VPC active in it (none: its removal), as one action."""
        vrfs: dict[str, Optional[str]] = {}
        vpcs: list[str] = []
        for vpc, at in sorted(self.data.get("acl_at", {}).items()):
            here = [master for n, master in at.values() if n == node]
            if not here:
                continue
            v = self.world.vpcs[vpc]
            acl = self.acl(vpc)
            vpcs.append(json.dumps({"name": vpc, "tenant": v.tenant, "subnet": v.subnet,
                                    "acl": acl.model_dump(by_alias=True), "resolved": self.resolve(vpc, acl)},
                                   sort_keys=True))
            vrfs.setdefault(v.tenant, here[0])
        self.nm.ledger.run([AclTable(node, tuple(sorted(vrfs.items())), tuple(vpcs))])

    # --- reading -------------------------------------------------------------------------
    def listing(self, vpc: Optional[str] = None) -> list[dict]:
        """Every VPC's rules with, per rule, the counters at each PE where they are applied."""
        out = []
        for name, v in self.world.vpcs.items():
            if (vpc and name != vpc) or v.type != "l3vpn":
                continue
            acl = self.acl(name)
            if acl is None:
                continue
            at = self.data.get("acl_at", {}).get(name, {})
            pes = sorted(at)
            counts: dict[str, dict[str, tuple[int, int]]] = {}
            for pe in pes:
                for cname, value in counters(naming.netns(self.testbed, at[pe][0])).items():
                    cvpc, rule = split_counter(cname)
                    if cvpc == ident(name):
                        counts.setdefault(rule, {})[pe] = value
            rules = []
            for r, rname in zip(acl.rules, acl.names()):
                rules.append({"name": rname, **r.model_dump(by_alias=True, exclude={"name"}),
                              "counters": counts.get(ident(rname), {})})
            rules.append({"name": "default", "action": acl.default, "from": "any", "to": "any", "proto": "any",
                          "counters": counts.get("default", {})})
            out.append({"vpc": name, "default": acl.default, "pes": pes, "rules": rules})
        return out
