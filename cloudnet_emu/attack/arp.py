"""Case 7: ARP/MAC spoofing from a VM.

Cross-tenant: the attacker VM sends gratuitous ARP (request and reply) claiming the other
tenant's VM address and that VM's gateway.  Expected: not seen in any namespace of the other
tenant, no neighbour/FDB entry there names the attacker's MAC.
Within the tenant: it claims a same-tenant VM's address and its own gateway.  Expected: detected
and reported by arpwatch (sniffers on the VMs' access ports, claims compared with the Cloud
Manager's records, per VPC).  Not blocked: the VPC has no port security.
Control: the other tenant's VM announcing its own address IS seen in its tenant's namespaces.
"""
from __future__ import annotations

from scapy.layers.l2 import ARP, Ether

from . import arpwatch
from .actors import vm
from .result import Result, merge
from .tools import Env, Watch, diff, inject, snapshot, watch_nodes

BCAST = "ff:ff:ff:ff:ff:ff"


def garps(mac: str, ip: str) -> list:
    return [Ether(src=mac, dst=BCAST) / ARP(op=1, hwsrc=mac, psrc=ip, hwdst="00:00:00:00:00:00", pdst=ip),
            Ether(src=mac, dst=BCAST) / ARP(op=2, hwsrc=mac, psrc=ip, hwdst=BCAST, pdst=ip)]


def arp_spoof(env: Env) -> Result:
    a, a2, b = vm(env, "atk-a1"), vm(env, "atk-a2"), vm(env, "atk-b1")
    ports = {v["name"]: (None, v["port"]) for v in env.vms.values() if v["site"] == a["site"]}
    victims = env.tenant_nodes(b["tenant"])
    # cross-tenant
    before = snapshot(env, victims)
    with watch_nodes(env, victims, f"arp and ether src {a['mac']}") as w, \
            Watch(ports, "arp", inbound=True) as watch:
        sent = inject(env.netns(a["name"]), "eth0", garps(a["mac"], b["ip"]) + garps(a["mac"], b["gateway"]), count=2)
    after = snapshot(env, victims)
    with watch_nodes(env, victims, f"arp and ether src {b['mac']}") as ctl:
        inject(env.netns(b["name"]), "eth0", garps(b["mac"], b["ip"]))
    cross = Result("arp_spoof", "", sent=sent, leaked=w.total(), control=ctl.total(),
                   state_changed=diff(before, after, [a["mac"]]),
                   notes=[f"cross-tenant: {a['name']} claims {b['ip']} and {b['gateway']}: "
                          f"seen in {b['tenant']} {w.seen() or 'nowhere'}"])
    # within the tenant: detected, not blocked
    mine = [a2["name"]]
    before = snapshot(env, mine)
    with Watch(ports, "arp", inbound=True) as watch2:
        sent = inject(env.netns(a["name"]), "eth0", garps(a["mac"], a2["ip"]) + garps(a["mac"], a["gateway"]),
                      count=2)
    after = snapshot(env, mine)
    found = detect(env, {**watch.lines, **{k: watch.lines.get(k, []) + v for k, v in watch2.lines.items()}})
    intra = Result("arp_spoof", "", sent=sent, detected=found, must_detect=True,
                   notes=[f"within {a['tenant']}: {a['name']} claims {a2['ip']} and {a['gateway']}; arpwatch: "
                          f"{'; '.join(found) or 'NOTHING'}; effect at {a2['name']} (no port security): "
                          f"{diff(before, after, [a['mac']]) or 'none'}"])
    return merge("arp_spoof", env.realization(), [cross, intra])


def detect(env: Env, lines_by_vm: dict[str, list[str]]) -> list[str]:
    """arpwatch over the captures of each VM's port, against the records of that VM's VPC."""
    out = []
    for name, lines in sorted(lines_by_vm.items()):
        vpc = env.vms[name]["vpc"]
        members = [v for v in env.vms.values() if v["vpc"] == vpc]
        owners = arpwatch.owners_from_records(members, {v["gateway"]: set() for v in members})
        out += [f"port of {name}: {s}" for s in arpwatch.spoofs(arpwatch.claims(lines), owners)]
    return list(dict.fromkeys(out))
