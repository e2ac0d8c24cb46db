"""`mobility: {vm, seq}`: EVPN MAC mobility (RFC 7432 section 15) of a VPLS VM under control=bgp.

The PE of the VM's site has its MAC as local with sequence SEQ (one per move since it first
appeared), and every other PE of the VPC's VPLS instance has it as remote behind that PE's VTEP
with the same sequence (zebra: `show evpn mac vni <vni> json`) and in its kernel FDB on the VXLAN
device toward that VTEP, installed by FRR (`bridge -j fdb`: `dst`, `extern_learn`).  Both
readings of every PE are the evidence; a PE that does not answer is an error, a wrong reading a
failure.
"""
from __future__ import annotations

import json
import time

from pydantic import Field

from ... import naming, state
from ...kernel import frr as kfrr
from ...kernel import ns
from ...plan import addressing
from ...spec.model import Name, Strict
from ...verdict import Status, Verdict, judged
from ..kind import CheckKind
from ..paper import Paper, vm_ref
from ..world import World


class MobilityCheck(Strict):
    vm: Name
    seq: int = Field(ge=0, description="the MAC mobility sequence number: how often the VM's MAC moved between PEs")


def paper(w: Paper, body: MobilityCheck, at: tuple):
    yield from vm_ref(w, body.vm, at + ("vm",), "be checked")


def _zebra(testbed: str, pe: str, vni: int, mac: str):
    """zebra's entry of MAC in VNI at PE ({} if it has none), or None if zebra does not answer."""
    data = kfrr.vtysh(state.daemon_dir(testbed, pe), f"show evpn mac vni {vni} json")
    if data is None:
        return None
    return (data.get("macs") or {}).get(mac, {})


def _fdb(w: World, pe: str, dev: str, mac: str):
    """The VXLAN device's own FDB entries of MAC at PE (dst, flags), or None if unreadable."""
    res = ns.run(["bridge", "-j", "fdb", "show", "dev", dev], netns=w.netns(pe), check=False)
    if res.returncode != 0:
        return None
    return [{"dst": e.get("dst"), "flags": e.get("flags", [])} for e in json.loads(res.stdout or "[]")
            if e.get("mac", "").lower() == mac and e.get("dst")]


SETTLE_S = 3.0      # BGP's UPDATEs are coalesced for 100 ms at the PE and again at the reflector


def run(w: World, body: MobilityCheck, expect: str) -> Verdict:
    """One reading per PE, taken again for up to SETTLE_S while it is a failure (a move just made
    may still be on its way); the last reading is the verdict."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        judged = _judge(w, body)
        if judged.status != Status.FAIL or time.monotonic() > deadline:
            return judged
        time.sleep(0.1)


def _judge(w: World, body: MobilityCheck) -> Verdict:
    if (w.record.get("realizations") or {}).get("control") != "bgp":
        return judged(Status.ERROR, "no EVPN here: MAC mobility is BGP's (control=bgp), this testbed is static")
    vm = w.cloud.data["vms"][body.vm]
    if vm["type"] != "vpls":
        return judged(Status.ERROR, f"{body.vm} is in an L3VPN VPC: no MAC of it crosses the provider network")
    mac, vpc = vm["mac"].lower(), vm["vpc"]
    here = w.world.clouds[vm["site"]].pe
    vtep = addressing.bare(w.world.loopbacks[here])
    vni, dev = addressing.vpls_vni(w.world.vpcs[vpc].index), naming.vpls_vxlan(vpc)
    pes = sorted(u.split("@")[1] for u in w.network.ledger.units if u.startswith(f"vpls:{vpc}@"))
    readings, wrong, silent = [], [], []
    for pe in pes:
        z = _zebra(w.testbed, pe, vni, mac)
        fdb = None if pe == here else _fdb(w, pe, dev, mac)
        readings.append({"pe": pe, "zebra": z, "fdb": fdb})
        if z is None or (pe != here and fdb is None):
            silent.append(pe)
        elif pe == here:
            if z.get("type") != "local" or z.get("localSequence") != body.seq:
                wrong.append(f"{pe}: {z.get('type', 'no entry')} seq {z.get('localSequence')} (want local seq {body.seq})")
        else:
            if z.get("type") != "remote" or z.get("remoteVtep") != vtep or z.get("remoteSequence") != body.seq:
                wrong.append(f"{pe}: zebra has {z.get('type', 'no entry')} at {z.get('remoteVtep')} seq "
                             f"{z.get('remoteSequence')} (want remote at {vtep} seq {body.seq})")
            if not any(e["dst"] == vtep and "extern_learn" in e["flags"] for e in fdb):
                wrong.append(f"{pe}: kernel FDB of {dev} has {[e['dst'] for e in fdb] or 'no entry'} (want {vtep}, "
                             "extern_learn)")
    evidence = {"readings": readings}
    if silent:
        return judged(Status.ERROR, f"cannot read zebra or the FDB at {', '.join(silent)}", evidence)
    if len(pes) < 2:
        return judged(Status.ERROR, f"{vpc}'s VPLS instance spans {pes or 'no PE'}: no remote PE to judge", evidence)
    if wrong:
        return judged(Status.FAIL, "; ".join(wrong), evidence)
    return judged(Status.PASS, f"{mac} local at {here} with sequence {body.seq}; remote at {vtep} with sequence "
                               f"{body.seq} in zebra and in the kernel FDB at {', '.join(p for p in pes if p != here)}",
                  evidence)


def title(body: MobilityCheck) -> str:
    return f"EVPN MAC mobility of {body.vm}: sequence {body.seq}, every remote PE at its new VTEP"


KIND = CheckKind("mobility", MobilityCheck, paper, run, title, "state")
