"""Case 8 under control=bgp: a MAC flapping between cloud sites, flagged by FRR's EVPN
duplicate-address detection (RFC 7432 section 15).

Under bgp a VPLS instance is an EVPN L2 VNI: each PE's zebra learns the MACs behind it from its
bridge and bgpd advertises them with a MAC mobility sequence number; a MAC that moves between
VTEPs more than `maxMoves` times in `detectionTime` seconds (`show evpn json`; FRR's default is
5 in 180 s) is flagged duplicate (`show evpn mac vni all json`: isDuplicate, detectionCount).

The attack: two VMs of the VPLS VPC in two cloud sites (atk-a1, atk-a3) take turns sending
broadcast frames from one fabricated MAC (fresh per run), each after the previous move reached
both PEs.  Expected: some PE of the VPC flags the MAC in the VPC's VNI once it moved `maxMoves`
times.  Control: at each step the sender's PE holds the MAC as local (located), and the other
PE as remote at the sender's VTEP (propagated).  Negative controls in the same run: no other
MAC of the VNI is flagged (the VPC's own VMs, atk-a2 among them, kept still), and a VM of another
tenant (atk-b1) sending from the same MAC afterwards changes nothing of that MAC in the first
VPC's VNI on any PE and is flagged in no other VNI.  At the end the duplicate flag is cleared,
so the testbed is left as found.

`moves` (default maxMoves + 1) lets a sabotage test flap one move short of the threshold: then
nothing may be flagged, and the verdict is red (NOT DETECTED).
"""
from __future__ import annotations

import os
import time
from typing import Optional

from scapy.layers.l2 import ARP, Ether

from .. import naming, state
from ..kernel import frr as kfrr
from ..verdict import Sent
from ..verdict import Watch as VWatch
from .actors import vm
from .result import Result, failed
from .tools import Env, inject

CASE = "mac_flap"
STEP_S = 3.0            # a move reaches both PEs well within this (about 0.3 s here)
POLL_S = 0.02


def _dir(env: Env, router: str) -> str:
    return state.daemon_dir(env.testbed, router)


def vni_of(env: Env, pe: str, ifname: str) -> Optional[int]:
    """The VNI whose VXLAN device at PE is IFNAME (zebra's view)."""
    vnis = kfrr.evpn_vnis(_dir(env, pe)) or {}
    return next((v for v, d in vnis.items() if d.get("vxlanIf") == ifname), None)


def _entry(tables: dict, pe: str, vni: int, mac: str) -> dict:
    return ((tables.get(pe) or {}).get(vni) or {}).get(mac) or {}


def _read(env: Env, pes: list[str]) -> dict:
    return {pe: kfrr.evpn_mac(_dir(env, pe)) for pe in pes}


def _moved(tables: dict, at: str, others: list[str], vni: int, mac: str, vtep: str) -> tuple[bool, bool]:
    """(local at AT, remote at AT's VTEP everywhere else)."""
    local = _entry(tables, at, vni, mac).get("type") == "local"
    remote = all(_entry(tables, o, vni, mac).get("type") == "remote"
                 and _entry(tables, o, vni, mac).get("remoteVtep") == vtep for o in others)
    return local, remote


def flagged(tables: dict, mac: Optional[str] = None) -> list[tuple[str, int, str, int]]:
    """(pe, vni, mac, detectionCount) of every duplicate entry (of MAC only, if given)."""
    out = []
    for pe, vnis in sorted(tables.items()):
        for vni, macs in sorted((vnis or {}).items()):
            for m, e in sorted(macs.items()):
                if e.get("isDuplicate") and (mac is None or m == mac):
                    out.append((pe, vni, m, e.get("detectionCount", 0)))
    return out


def mac_flap(env: Env, moves: Optional[int] = None) -> Result:
    realization = env.realization()
    a1, a2, a3, b = vm(env, "atk-a1"), vm(env, "atk-a2"), vm(env, "atk-a3"), vm(env, "atk-b1")
    world = env.world
    pe_of = {x["name"]: world.clouds[x["site"]].pe for x in (a1, a3, b)}
    pe1, pe3 = pe_of["atk-a1"], pe_of["atk-a3"]
    if pe1 == pe3:
        return failed(CASE, realization, f"{a1['site']} and {a3['site']} share PE {pe1}: no move between VTEPs")
    ifname = naming.vpls_vxlan(a1["vpc"])
    vni = vni_of(env, pe1, ifname)
    if vni is None or vni_of(env, pe3, ifname) != vni:
        return failed(CASE, realization, f"no EVPN VNI with device {ifname} at both {pe1} and {pe3}")
    settings = {pe: kfrr.evpn(_dir(env, pe)) for pe in (pe1, pe3)}
    if any(s is None for s in settings.values()):
        return failed(CASE, realization, f"no answer from zebra at {', '.join(p for p, s in settings.items() if s is None)}")
    on = {pe: bool(s.get("isDuplicateAddrDetection")) for pe, s in settings.items()}
    threshold = max(int(s.get("maxMoves") or 5) for s in settings.values())
    window = max(int(s.get("detectionTime") or 180) for s in settings.values())
    moves = threshold + 1 if moves is None else moves
    vtep = {pe: (world.loopbacks or {})[pe].split("/")[0] for pe in (pe1, pe3)}
    # every PE of the VPC's VNI watches (the enterprise side's PE too)
    pes = sorted(p for p in (world.loopbacks or {}) if vni_of(env, p, ifname) == vni)
    mac = "02:f1:" + ":".join(f"{x:02x}" for x in os.urandom(4))
    env.suspects.add(mac)

    def frame(who):
        return Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac, psrc=who["ip"], pdst=who["ip"])

    sent, located, propagated = 0, 0, 0
    seen_at = {p: 0 for p in pes}
    errors: list[str] = []
    before_flags = flagged(_read(env, pes))
    for i in range(moves + 1):
        who, at = (a1, pe1) if i % 2 == 0 else (a3, pe3)
        other = pe3 if at == pe1 else pe1
        sent += inject(env.netns(who["name"]), "eth0", [frame(who)])
        deadline = time.monotonic() + STEP_S
        while True:
            tables = _read(env, pes)
            local, remote = _moved(tables, at, [other], vni, mac, vtep[at])
            if (local and remote) or time.monotonic() > deadline:
                break
            time.sleep(POLL_S)
        located += local
        propagated += remote
        for p in pes:
            seen_at[p] += bool(_entry(tables, p, vni, mac))
    tables = _read(env, pes)
    blind = [p for p, t in tables.items() if t is None]
    if blind:
        errors.append(f"no answer from zebra at {', '.join(blind)}")
    hits = flagged(tables, mac)
    found = [f"{p}: {mac} in VNI {v} flagged duplicate after {n} moves" for p, v, _, n in hits if v == vni]
    elsewhere = [f"{p}: {mac} flagged in VNI {v}" for p, v, _, n in hits if v != vni]
    false = [f"{p}: {m} (not the flapping MAC) flagged duplicate in VNI {v}"
             for p, v, m, _ in flagged(tables) if m != mac and (p, v, m) not in {x[:3] for x in before_flags}]
    kept = {p: _entry(tables, p, vni, mac) for p in pes}
    # the same MAC from the other tenant: nothing of it changes in the first VPC's VNI
    sent_b = inject(env.netns(b["name"]), "eth0", [frame(b)], count=3)
    sent += sent_b
    time.sleep(0.5)
    after = _read(env, pes + [pe_of["atk-b1"]])
    changed = [f"{p}: {mac} in VNI {vni}: {_brief(kept[p])} -> {_brief(_entry(after, p, vni, mac))}"
               for p in pes if _brief(kept[p]) != _brief(_entry(after, p, vni, mac))]
    other = [f"{p}: {mac} flagged in VNI {v} after {b['name']} ({b['tenant']}) sent it"
             for p, v, _, _ in flagged(after, mac) if v != vni]
    for p, v, _, _ in hits:
        kfrr.clear_duplicate(_dir(env, p), v, mac)
    a2_flags = [x for x in false if a2["mac"].lower() in x]
    notes = [f"{moves} moves of {mac} between {a1['site']} ({pe1}) and {a3['site']} ({pe3}) in VNI {vni}; "
             f"located {located}/{moves + 1}, propagated {propagated}/{moves + 1}; FRR's threshold "
             f"{threshold} moves in {window} s (detection "
             + ", ".join(f"{p} {'on' if v else 'OFF'}" for p, v in on.items()) + ")",
             f"negative controls: {len(false)} other MAC(s) flagged (atk-a2 {'FLAGGED' if a2_flags else 'not'}); "
             f"{b['name']} ({b['tenant']}) sending {mac}: {'no effect' if not changed and not other else 'CHANGED'}"]
    return Result(CASE, realization, sent=sent, leaked=len(other) + len(elsewhere), leaks=other + elsewhere,
                  state_changed=changed + false, control=min(located, propagated), detected=found,
                  must_detect=True, errors=errors,
                  sent_by=[Sent(f"{a1['name']}, {a3['name']}", f"frames from {mac}", sent - sent_b),
                           Sent(b["name"], f"frames from {mac} (another tenant)", sent_b)],
                  watched=[VWatch(p, seen_at[p], 0) for p in pes], notes=notes)


def _brief(e: dict) -> tuple:
    """What of an EVPN MAC entry another tenant must not change."""
    return (e.get("type"), e.get("intf") or e.get("remoteVtep"), e.get("localSequence"), e.get("remoteSequence"),
            e.get("detectionCount"), e.get("isDuplicate"))
