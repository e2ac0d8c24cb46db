"""The Cloud Manager's side of bandwidth reservations: naming what to reserve, and following VMs.

The Cloud Manager knows where VMs are, so it turns a reservation's endpoints into data the
Network Manager can route (prefix, PE, enterprise site) and sends `reserve`; the Network
Manager admits it on its paths and realizes it (reservations.py).  When a VM moves, every
reservation naming it -- and every hose of its VPC, whose paths run to the PEs where the VPC
has VMs -- is re-admitted on the new paths first (a refusal leaves the VM where it was) and
re-realized after the move; an attach that brings the VPC to a new PE does the same first.

    pipe endpoints   a VM of the VPC, a host of one of the VPC's enterprise sites, or such a site
    hose sites       an enterprise site the VPC joins: its attachment circuit, and the core paths
                     between its PE and the PEs of the VPC's cloud sites
"""
from __future__ import annotations

from typing import Optional

from ..errors import StateError
from ..world.parts import Vpc


def request(cloud, name: str, vpc: str, between: Optional[list] = None, bw: Optional[float] = None,
            site: Optional[str] = None, ingress: Optional[float] = None, egress: Optional[float] = None,
            moved: Optional[dict] = None, arriving: Optional[str] = None) -> dict:
    """A `reserve` message; `moved` = {vm: site} resolves those VMs at another site (migration),
    `arriving` is a cloud site a VM of the VPC is about to be attached in."""
    v = cloud.vpc(vpc)
    if v.type != "l3vpn":
        raise StateError(f"VPC {vpc} is {v.type}: reservations are for l3vpn VPCs (routed at the PE)")
    base = {"name": name, "vpc": vpc, "tenant": v.tenant}
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
    sites = cloud.world.sites
    if site not in v.sites or site not in sites:
        raise StateError(f"{site!r} is not an enterprise site of VPC {vpc} (its sites: {', '.join(v.sites)})")
    return dict(base, kind="hose", site=site, pe=sites[site].pe, subnet=sites[site].subnet,
                cloud_pes=cloud_pes(cloud, vpc, moved or {}, arriving),
                vpc_subnet=v.subnet, ingress=float(ingress or 0), egress=float(egress or 0))


def _end(cloud, vpc: str, v: Vpc, name: str, moved: dict) -> dict:
    vm = cloud.data["vms"].get(name)
    if vm is not None:
        if vm["vpc"] != vpc:
            raise StateError(f"VM {name} is in VPC {vm['vpc']}, not {vpc}")
        site = moved.get(name, vm["site"])
        return {"name": name, "prefix": f"{vm['ip']}/32", "pe": cloud.world.clouds[site].pe, "site": None}
    for site, m in cloud.world.sites.items():
        if site not in v.sites:
            continue
        if name == site:
            return {"name": name, "prefix": m.subnet, "pe": m.pe, "site": site}
        if name in m.hosts:
            return {"name": name, "prefix": f"{m.hosts[name]}/32", "pe": m.pe, "site": site}
    raise StateError(f"{name!r} is neither a VM of VPC {vpc} nor a host or site it joins "
                     f"(sites: {', '.join(v.sites) or 'none'})")


def cloud_pes(cloud, vpc: str, moved: dict, arriving: Optional[str] = None) -> list[str]:
    """The PEs of the cloud sites where the VPC has VMs (as if `moved` and `arriving` had happened)."""
    sites = {moved.get(vm["name"], vm["site"]) for vm in cloud.data["vms"].values() if vm["vpc"] == vpc}
    if arriving:
        sites.add(arriving)
    clouds = cloud.world.clouds
    return sorted({clouds[s].pe for s in sites})


def reservations_of(cloud, vm: str) -> list[dict]:
    """The pipes naming `vm`, and the hoses of its VPC (their paths depend on where its VMs are)."""
    vpc = cloud.data["vms"][vm]["vpc"]
    return [r for r in cloud.network("reservations", {})["reservations"]
            if (r["kind"] == "pipe" and any(e["name"] == vm for e in r["ends"])) or
            (r["kind"] == "hose" and r["vpc"] == vpc)]


def pipes_of(cloud, vm: str) -> list[str]:
    return [r["name"] for r in reservations_of(cloud, vm) if r["kind"] == "pipe"]


def _again(cloud, r: dict, moved: dict, arriving: Optional[str] = None) -> dict:
    spec = ({"between": [e["name"] for e in r["ends"]], "bw": r["bw"]} if r["kind"] == "pipe" else
            {"site": r["site"], "ingress": r["ingress"], "egress": r["egress"]})
    return request(cloud, r["name"], r["vpc"], moved=moved, arriving=arriving, **spec)


def arrive(cloud, vpc: str, site: str, dry_run: bool) -> None:
    """Before (dry_run) and after an attach in `site`: the VPC's hoses extend to its PE."""
    hoses = [r for r in cloud.network("reservations", {})["reservations"] if r["kind"] == "hose" and r["vpc"] == vpc]
    pe = cloud.world.clouds[site].pe
    if hoses and any(pe not in r["cloud_pes"] for r in hoses):
        cloud.network("reserve", {"requests": [_again(cloud, r, {}, site) for r in hoses], "replace": True,
                                  "dry_run": dry_run})


def leave(cloud, vpc: str) -> None:
    """After a detach: the VPC's hoses shrink to the PEs it still has VMs behind."""
    hoses = [r for r in cloud.network("reservations", {})["reservations"] if r["kind"] == "hose" and r["vpc"] == vpc]
    fresh = [_again(cloud, r, {}) for r in hoses]
    changed = [f for f, r in zip(fresh, hoses) if f["cloud_pes"] != r["cloud_pes"]]
    if changed:
        cloud.network("reserve", {"requests": changed, "replace": True})


def follow(cloud, vm: str, to_site: str, dry_run: bool) -> list[str]:
    """Re-admit (dry_run) or re-realize, all together, the reservations that depend on where `vm`
    is (its pipes, its VPC's hoses) as if it were at `to_site`."""
    reqs = [_again(cloud, r, {vm: to_site}) for r in reservations_of(cloud, vm)]
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


def describe(meta: dict) -> str:
    """One reservation as a line: what, which VPC and class, on which shaped link directions."""
    if meta["kind"] == "pipe":
        what = f"pipe {meta['ends'][0]['name']} <-> {meta['ends'][1]['name']}, {meta['bw']:g} Mbit/s each way"
    else:
        what = f"hose on {meta['site']}, in {meta['ingress']:g} / out {meta['egress']:g} Mbit/s"
    hops = ", ".join(h["direction"].replace(">", "->") for h in meta["hops"]) or "no shaped link"
    return f"{what} (VPC {meta['vpc']}, class {meta['classid']}) on {hops}"
