"""Case 6: VLAN hopping.

From the attacker VM's access port: double-tagged frames (its own VLAN outside, the victim VPC's
VLAN inside; also a priority tag, VLAN 0, outside) and single-tagged frames with the victim's
VLAN, to the victim VM's MAC and to broadcast.  On the server trunk (the site switch's end,
cnt-<server>): frames with a VLAN no VPC uses, alone and outside the victim's.  Sniffers in every
namespace of the victim's tenant.  Control: a host of the victim's tenant reaches the victim VM
with a packet of the same shape.
"""
from __future__ import annotations

from scapy.layers.l2 import Dot1Q, Ether

from .. import naming
from .packets import marker_control, marker_ip
from .actors import vm
from ..verdict import Sent
from .result import Result, merge
from .tools import Env, control, inject, marker_bpf, observe, ping, watch_nodes

LEN, CONTROL_LEN = 1271, 1273
UNUSED_VLAN = 4001


def vlan_hop(env: Env) -> Result:
    a, b = vm(env, "atk-a1"), vm(env, "atk-b1")
    inner = marker_ip(a["ip"], b["ip"], LEN)
    from_vm = []
    for dst in (b["mac"], "ff:ff:ff:ff:ff:ff"):
        base = Ether(src=a["mac"], dst=dst)
        from_vm += [base / Dot1Q(vlan=a["vlan"]) / Dot1Q(vlan=b["vlan"]) / inner,
                    base / Dot1Q(vlan=0) / Dot1Q(vlan=b["vlan"]) / inner,
                    base / Dot1Q(vlan=b["vlan"]) / inner,
                    base / Dot1Q(vlan=0) / inner]
    on_trunk = [Ether(src=a["mac"], dst=dst) / Dot1Q(vlan=UNUSED_VLAN) / extra / inner
                for dst in (b["mac"], "ff:ff:ff:ff:ff:ff")
                for extra in (Dot1Q(vlan=b["vlan"]),)] + \
        [Ether(src=a["mac"], dst=b["mac"]) / Dot1Q(vlan=UNUSED_VLAN) / inner]
    victims = env.tenant_nodes(b["tenant"])
    trunk = naming.trunk_site_side(a["server"])
    with watch_nodes(env, victims, marker_bpf(LEN), marker_control(CONTROL_LEN)) as w:
        by = [Sent(f"{a['name']}:eth0", "tagged frames", inject(env.netns(a["name"]), "eth0", from_vm, count=2)),
              Sent(f"{trunk} (root)", "frames with a VLAN no VPC uses", inject(None, trunk, on_trunk, count=2))]
    sent = sum(x.count for x in by)
    host = sorted(h for h in env.hosts(b["tenant"]) if h not in env.vms)[0]
    seen = control(env, [b["name"]], CONTROL_LEN, lambda: ping(env, host, b["ip"], CONTROL_LEN - 28))
    return merge("vlan_hop", env.realization(), [observe(Result(
        "vlan_hop", "", sent=sent, leaked=w.total(), control=seen, sent_by=by,
        notes=[f"VLAN {a['vlan']} -> {b['vlan']} (double, priority-tagged, single) from {a['name']}; "
               f"VLAN {UNUSED_VLAN} on trunk {naming.trunk_site_side(a['server'])}: "
               f"seen {w.seen() or 'nowhere'}"]), w)])
