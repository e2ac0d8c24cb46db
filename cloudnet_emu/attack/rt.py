"""Case 11: route targets keep tenants apart (control=bgp).

Under control=bgp every VNI of a tenant (its transit between its VRFs, each VPLS instance of its
VPCs) is an EVPN L2 VNI whose routes carry the route target FRR derives from it (<AS>:<VNI>); a
PE installs a route into the VNIs whose import list holds its target.  The routes: every MAC a
PE advertises in a tenant's VNI (type 2: the VRFs' transit MACs, the VMs of VPLS VPCs, and a
fabricated MAC the case makes atk-a1 send into its VPLS VPC, fresh per run), and every VM host
route a tenant's VRF announces to its other VRFs.

Where a route with a foreign route target would land, read on every PE and tenant VRF once the
fabricated MAC reached the other PEs of its VNI:
  - the kernel FDB of each VXLAN device (`bridge -j fdb show`) and zebra's MAC table of its VNI:
    no MAC another tenant exported (and this tenant did not);
  - the kernel FIB of each tenant VRF (`ip -j route`): no VM host route of another tenant (an
    address that is not its own);
  - bgpd's VNIs (`show bgp l2vpn evpn vni json`): no VNI of a tenant imports a route target a VNI
    of another tenant exports.
Each watcher's control, in the same read: a PE's count of its tenants' own MACs installed from
other PEs (extern_learn), a VRF's routes learned from its tenant's other VRFs (proto bgp).  A
watcher that saw none proves nothing.
"""
from __future__ import annotations

import ipaddress
import os
import time
from typing import Optional

from scapy.layers.l2 import ARP, Ether

from .. import naming, state
from ..kernel import frr as kfrr
from ..kernel import ipjson, ns
from ..verdict import Sent
from ..verdict import Watch as VWatch
from .actors import vm
from .bgp import instances
from .result import Result, skipped
from .tools import Env, inject

CASE = "rt_import"
SEEN_S = 5.0            # the fabricated MAC reaches every PE of its VNI well within this
POLL_S = 0.05


def tenant_of(ifname: str, world) -> Optional[str]:
    """The tenant a VXLAN device of ours belongs to: vx-<tenant> (transit), vxl-<vpc> (VPLS)."""
    for name, v in world.vpcs.items():
        if ifname == naming.vpls_vxlan(name):
            return v.tenant
    for tenant in world.tenants:
        if ifname == naming.vxlan_dev(tenant):
            return tenant
    return None


def read_pe(testbed: str, pe: str) -> dict:
    directory = state.daemon_dir(testbed, pe)
    res = ns.run(["bridge", "-j", "fdb", "show"], netns=naming.netns(testbed, pe), check=False)
    return {"vnis": kfrr.evpn_vnis(directory), "macs": kfrr.evpn_mac(directory),
            "fdb": ipjson.loads(res.stdout) if res.returncode == 0 else None}


def read_vrf(testbed: str, vrf: str) -> Optional[list]:
    res = ns.run(["ip", "-j", "route", "show"], netns=naming.netns(testbed, vrf), check=False)
    return ipjson.loads(res.stdout) if res.returncode == 0 else None


def _host(dst: Optional[str]) -> Optional[str]:
    if not dst or dst == "default":
        return None
    net = ipaddress.ip_network(dst if "/" in dst else dst + "/32", strict=False)
    return str(net.network_address) if net.prefixlen == 32 else None


def judge(pes: dict[str, dict], vrfs: dict[str, Optional[list]], tenant_of_if, vm_ips: dict[str, set],
          own_nets: dict[str, list]) -> dict:
    """From the reads (pure): exported routes per tenant, watchers, leaks, errors.
    TENANT_OF_IF(ifname) names a VXLAN device's tenant; VM_IPS[tenant] its VMs' addresses;
    OWN_NETS[tenant] its own subnets (a host route inside them is its own)."""
    errors, leaks, watched = [], [], []
    exported: dict[str, dict[str, str]] = {}        # tenant -> mac -> the PE that exports it
    export_rts: dict[str, set] = {}                 # tenant -> route targets its VNIs export
    dev_tenant: dict[tuple[str, str], str] = {}     # (pe, ifname) -> tenant
    for pe, r in sorted(pes.items()):
        missing = [k for k in ("vnis", "macs", "fdb") if r.get(k) is None]
        if missing:
            errors.append(f"{pe}: no answer to the read of its {', '.join(missing)}")
            continue
        for vni, v in r["vnis"].items():
            t = tenant_of_if(v.get("vxlanIf") or "")
            if t is None:
                errors.append(f"{pe}: VNI {vni} on {v.get('vxlanIf')}: no tenant of ours")
                continue
            dev_tenant[(pe, v["vxlanIf"])] = t
            export_rts.setdefault(t, set()).update(v.get("exportRTs") or [])
            for mac, m in (r["macs"].get(vni) or {}).items():
                if m.get("type") == "local":
                    exported.setdefault(t, {})[mac] = pe
    owner = {mac: t for t, macs in exported.items() for mac in macs}
    for pe, r in sorted(pes.items()):
        if any(r.get(k) is None for k in ("vnis", "macs", "fdb")):
            continue
        if not r["vnis"]:
            continue            # no VNI here (a P router): nothing could land, nothing to watch
        legit = hits = 0
        for vni, v in sorted(r["vnis"].items()):
            u = dev_tenant.get((pe, v.get("vxlanIf")))
            if u is None:
                continue
            for rt in v.get("importRTs") or []:
                for t, rts in sorted(export_rts.items()):
                    if t != u and rt in rts:
                        hits += 1
                        leaks.append(f"{pe}: VNI {vni} ({u}) imports {rt}, which {t}'s VNIs export")
            for mac, m in sorted((r["macs"].get(vni) or {}).items()):
                t = owner.get(mac)
                if m.get("type") == "remote" and t and t != u and mac not in exported.get(u, {}):
                    hits += 1
                    leaks.append(f"{pe}: {t}'s {mac} (from {exported[t][mac]}) in zebra's VNI {vni} ({u})")
        for e in r["fdb"]:
            mac, dev = (e.get("mac") or "").lower(), e.get("ifname")
            u = dev_tenant.get((pe, dev))
            if u is None or "permanent" in (e.get("state") or ""):
                continue
            t = owner.get(mac)
            if t and t != u and mac not in exported.get(u, {}):
                hits += 1
                leaks.append(f"{pe}: {t}'s {mac} (from {exported[t][mac]}) in the FDB of {dev} ({u})")
            elif t == u and "extern_learn" in (e.get("flags") or []) and exported[t][mac] != pe:
                legit += 1
        watched.append(VWatch(pe, legit, hits))
    for vrf, fib in sorted(vrfs.items()):
        if fib is None:
            errors.append(f"{vrf}: no answer to the read of its kernel FIB")
            continue
        u = vrf.split(".", 1)[1]
        mine = [ipaddress.ip_network(n) for n in own_nets.get(u, [])]
        legit = hits = 0
        for row in fib:
            legit += row.get("protocol") == "bgp"
            host = _host(row.get("dst"))
            if host is None or host in vm_ips.get(u, set()) or any(ipaddress.ip_address(host) in n for n in mine):
                continue
            for t, ips in sorted(vm_ips.items()):
                if t != u and host in ips:
                    hits += 1
                    leaks.append(f"{vrf}: {t}'s VM {host} in its kernel FIB")
        watched.append(VWatch(vrf, legit, hits))
    return {"exported": exported, "export_rts": export_rts, "watched": watched, "leaks": leaks, "errors": errors}


def rt_import(env: Env) -> Result:
    realization = env.realization()
    if env.control() != "bgp":
        return skipped(CASE, realization, "no BGP in the provider network (control: static)")
    world = state.world(state.read(env.testbed))        # with the VPCs made at run time (atk-sec)
    a1 = vm(env, "atk-a1")
    names = instances(env.testbed)
    routers = [n for n in names if "." not in n]
    pe_a1 = world.clouds[a1["site"]].pe
    mac = "02:71:" + ":".join(f"{x:02x}" for x in os.urandom(4))
    env.suspects.add(mac)
    frame = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac, psrc=a1["ip"], pdst=a1["ip"])
    forged = inject(env.netns(a1["name"]), "eth0", [frame], count=2)
    dev = naming.vpls_vxlan(a1["vpc"])

    def reads():
        return {pe: read_pe(env.testbed, pe) for pe in routers}

    # until the fabricated MAC is in the FDB of its VNI at every other PE that has that VNI
    deadline = time.monotonic() + SEEN_S
    while True:
        pes = reads()
        waiting = [pe for pe, r in pes.items() if pe != pe_a1 and r.get("fdb") is not None
                   and any(e.get("ifname") == dev for e in r["fdb"])
                   and not any(e.get("ifname") == dev and (e.get("mac") or "").lower() == mac for e in r["fdb"])]
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(POLL_S)
    vrfs = {n: read_vrf(env.testbed, n) for n in names if "." in n}
    vm_ips: dict[str, set] = {}
    for v in env.vms.values():
        vm_ips.setdefault(v["tenant"], set()).add(v["ip"])
    own_nets: dict[str, list] = {}
    for site in world.sites.values():
        own_nets.setdefault(site.tenant, []).append(site.subnet)
    for name, v in world.vpcs.items():
        if v.subnet:
            own_nets.setdefault(v.tenant, []).append(v.subnet)
    out = judge(pes, vrfs, lambda i: tenant_of(i, world), vm_ips, own_nets)
    errors = list(out["errors"])
    if waiting:
        errors.append(f"the fabricated {mac} never reached {', '.join(waiting)} (the positive control)")
    exported = out["exported"]
    sent_by = [Sent(t, f"EVPN MACs exported with {', '.join(sorted(out['export_rts'].get(t, ())))}", len(macs))
               for t, macs in sorted(exported.items())]
    sent_by.append(Sent(a1["name"], f"frames from {mac} (fabricated, exported by {pe_a1})", forged))
    n_hosts = sum(len(ips) for ips in vm_ips.values())
    return Result(CASE, realization, sent=sum(len(m) for m in exported.values()) + n_hosts,
                  leaked=sum(w.seen for w in out["watched"]), control=sum(w.control for w in out["watched"]),
                  errors=errors, sent_by=sent_by, watched=out["watched"], leaks=out["leaks"],
                  notes=[f"{len(routers)} provider routers and {len(vrfs)} tenant VRFs read; exported: "
                         + ", ".join(f"{t} {len(m)} MACs" for t, m in sorted(exported.items()))
                         + f", {n_hosts} VM host routes; route targets: "
                         + "; ".join(f"{t} {' '.join(sorted(r))}" for t, r in sorted(out["export_rts"].items()))])
