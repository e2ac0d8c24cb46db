"""The Cloud Manager's side of bandwidth reservations: naming what to reserve, and following VMs.

The Cloud Manager knows where VMs are, so it turns a reservation's endpoints into data the
Network Manager can route (prefix, PE, enterprise site) and sends `reserve`; the Network
Manager admits it on its paths and realizes it (reservations.py).  When a VM moves, every
reservation naming it is re-admitted on the new path first (a refusal leaves the VM where it
was) and re-realized after the move.

    pipe endpoints   a VM of the VPC, a host of one of the VPC's enterprise sites, or such a site
    hose sites       an enterprise site the VPC joins (its attachment circuit carries the hose)
"""
from __future__ import annotations

from typing import Optional

from ..errors import StateError


def request(cloud, name: str, vpc: str, between: Optional[list] = None, bw: Optional[float] = None,
            site: Optional[str] = None, ingress: Optional[float] = None, egress: Optional[float] = None,
            moved: Optional[dict] = None) -> dict:
    """A `reserve` message; `moved` = {vm: site} resolves those VMs at another site (migration)."""
    v = cloud.vpc(vpc)
    if v["type"] != "l3vpn":
        raise StateError(f"VPC {vpc} is {v['type']}: reservations are for l3vpn VPCs (routed at the PE)")
    base = {"name": name, "vpc": vpc, "tenant": v["tenant"]}
    if between is not None:
        if bw is None or len(between) != 2:
            raise StateError("a pipe reservation names two endpoints and a bw")
        ends = [_end(cloud, vpc, v, e, moved or {}) for e in between]
        if ends[0]["site"] and ends[0]["site"] == ends[1]["site"]:
            raise StateError(f"{between[0]} and {between[1]} are both in {ends[0]['site']}: their traffic stays on "
                             "its LAN and crosses no provider link; nothing to reserve")
        return dict(base, kind="pipe", bw=float(bw), ends=ends)
    if site is None or not (ingress or egress):
        raise StateError("a reservation is a pipe (between A B, bw) or a hose (site, ingress and/or egress)")
    sites = cloud.info.get("sites", {})
    if site not in v["sites"] or site not in sites:
        raise StateError(f"{site!r} is not an enterprise site of VPC {vpc} (its sites: {', '.join(v['sites'])})")
    return dict(base, kind="hose", site=site, pe=sites[site]["pe"], subnet=sites[site]["subnet"],
                vpc_subnet=v["subnet"], ingress=float(ingress or 0), egress=float(egress or 0))


def _end(cloud, vpc: str, v: dict, name: str, moved: dict) -> dict:
    vm = cloud.data["vms"].get(name)
    if vm is not None:
        if vm["vpc"] != vpc:
            raise StateError(f"VM {name} is in VPC {vm['vpc']}, not {vpc}")
        site = moved.get(name, vm["site"])
        return {"name": name, "prefix": f"{vm['ip']}/32", "pe": cloud.info["clouds"][site]["pe"], "site": None}
    for site, m in cloud.info.get("sites", {}).items():
        if site not in v["sites"]:
            continue
        if name == site:
            return {"name": name, "prefix": m["subnet"], "pe": m["pe"], "site": site}
        if name in m["hosts"]:
            return {"name": name, "prefix": f"{m['hosts'][name]}/32", "pe": m["pe"], "site": site}
    raise StateError(f"{name!r} is neither a VM of VPC {vpc} nor a host or site it joins "
                     f"(sites: {', '.join(v['sites']) or 'none'})")


def reservations_of(cloud, vm: str) -> list[dict]:
    return [r for r in cloud.network("reservations", {})["reservations"]
            if r["kind"] == "pipe" and any(e["name"] == vm for e in r["ends"])]


def follow(cloud, vm: str, to_site: str, dry_run: bool) -> list[str]:
    """Re-admit (dry_run) or re-realize, all together, every reservation naming `vm` as if it
    were at `to_site`."""
    reqs = [request(cloud, r["name"], r["vpc"], between=[e["name"] for e in r["ends"]], bw=r["bw"],
                    moved={vm: to_site}) for r in reservations_of(cloud, vm)]
    if reqs:
        cloud.network("reserve", {"requests": reqs, "replace": True, "dry_run": dry_run})
    return [r["name"] for r in reqs]


def changed(old: dict, between=None, bw=None, site=None, ingress=None, egress=None) -> dict:
    """The spec of a `change`: what is given replaces, the rest stays as it was."""
    if old["kind"] == "pipe":
        return {"between": list(between) if between else [e["name"] for e in old["ends"]],
                "bw": old["bw"] if bw is None else bw}
    return {"site": site or old["site"], "ingress": old["ingress"] if ingress is None else ingress,
            "egress": old["egress"] if egress is None else egress}
