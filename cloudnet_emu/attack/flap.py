"""Case 8: MAC flapping between sites, flagged by the Network Manager (managers/flap.py);
under control=bgp by FRR's EVPN duplicate-address detection instead (dad.py).

Two VMs of the VPLS VPC in two cloud sites take turns sending broadcast frames from one
fabricated MAC (fresh per run); after each frame the NM samples its VPLS bridges.  Expected:
flagged once it moved more than N times (default 5 in 180 s).  Then a VM of another tenant sends
from the same MAC: the first VPC's record of it (site, number of moves) does not change, and no
flag appears for the other tenant.  Control: the sampling did locate the MAC at each step.
"""
from __future__ import annotations

import os
import time

from scapy.layers.l2 import ARP, Ether

from ..managers import of_testbed
from ..managers import flap as detector
from .actors import vm
from ..verdict import Sent
from .result import Result
from .tools import Env, inject


def mac_flap(env: Env) -> Result:
    if env.control() == "bgp":
        # the VPLS instances are EVPN VNIs: FRR's duplicate-address detection is the detector
        from . import dad
        return dad.mac_flap(env)
    a1, a3, b = vm(env, "atk-a1"), vm(env, "atk-a3"), vm(env, "atk-b1")
    mac = "02:f1:" + ":".join(f"{x:02x}" for x in os.urandom(4))
    env.suspects.add(mac)
    _, nm = of_testbed(env.testbed)

    def frame(src_ip):
        return Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac, psrc=src_ip, pdst=src_ip)

    sent, located, flagged_after = 0, 0, None
    rounds = detector.MOVES + 2
    for i in range(rounds):
        who = a1 if i % 2 == 0 else a3
        sent += inject(env.netns(who["name"]), "eth0", [frame(who["ip"])])
        time.sleep(0.05)
        out = nm.sample_macs({"vpc": a1["vpc"]})
        if mac in out["seen"] and out["seen"][mac]["site"] == who["site"]:
            located += 1
        if flagged_after is None and any(f["mac"] == mac for f in out["flagged"]):
            flagged_after = len(out["seen"][mac]["moves"])
    record = nm.ledger.data.get("mac_moves", {}).get(f"{a1['vpc']} {mac}", {})
    # the same MAC in the other tenant
    sent += inject(env.netns(b["name"]), "eth0", [frame(b["ip"])], count=3)
    time.sleep(0.05)
    after = nm.sample_macs({"vpc": a1["vpc"]})
    nm.sample_macs({"vpc": b["vpc"]})
    record2 = nm.ledger.data.get("mac_moves", {}).get(f"{a1['vpc']} {mac}", {})
    changed = [] if (record2.get("site"), len(record2.get("moves", []))) == \
        (record.get("site"), len(record.get("moves", []))) else [f"{a1['vpc']} {mac}: {record} -> {record2}"]
    other = [f for f in after["flagged"] if f["vpc"] == b["vpc"] and f["mac"] == mac]
    found = [f"{mac} in {a1['vpc']}: flagged after {flagged_after} moves between {a1['site']} and {a3['site']}"] \
        if flagged_after is not None else []
    return Result("mac_flap", env.realization(), sent=sent, leaked=len(other), state_changed=changed,
                  control=located, detected=found, must_detect=True,
                  sent_by=[Sent(f"{a1['name']}, {a3['name']}, {b['name']}", f"frames from {mac}", sent)],
                  notes=[f"{rounds} alternating sends of {mac}, located {located}/{rounds}; "
                         f"threshold {detector.MOVES} moves in {detector.WINDOW_S:.0f} s; "
                         f"{b['tenant']} using the same MAC: {'no effect' if not changed else 'CHANGED'}"])
