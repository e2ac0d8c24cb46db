"""Case 7: ARP/MAC spoofing from a VM.

Cross-tenant: the attacker VM sends gratuitous ARP (request and reply) claiming the other
tenant's VM address and that VM's gateway.  Expected: not seen in any namespace of the other
tenant, no neighbour/FDB entry there names the attacker's MAC.
Within the tenant: it claims a same-tenant VM's address and its own gateway.  Expected: detected
and reported by arpwatch (sniffers on the VMs' access ports, claims compared with the Cloud
Manager's records, per VPC).  Not blocked: the VPC has no port security.
Control: the other tenant's VM announcing its own address IS seen in its tenant's namespaces.
With port security (VPC atk-sec, `port_security: true`): the same claims, an IPv4 packet from the
neighbour's address and a frame from a forged MAC are dropped at the port: nothing reaches the
neighbour VM or the logical CE, and the port's drop rule counted them; the VM's own GARP passes.
"""
from __future__ import annotations

from scapy.layers.l2 import ARP, Ether

from .. import naming
from ..kernel import ns
from . import arpwatch
from .actors import vm
from ..verdict import Sent
from .result import Result, merge
from .tools import Control, Env, Watch, diff, forget_macs, inject, observe, snapshot, watch_nodes
from ..managers import port_security

BCAST = "ff:ff:ff:ff:ff:ff"
BEACON_MAC = "02:a7:7a:c0:00:98"        # each ARP watcher's own control: an ARP probe (sender 0.0.0.0)
BEACON_IP = "192.0.2.250"


def arp_control() -> Control:
    def beacon(mac: str) -> list:
        return [Ether(src=mac, dst=mac) / ARP(op=1, hwsrc=BEACON_MAC, psrc="0.0.0.0", hwdst="00:00:00:00:00:00",
                                              pdst=BEACON_IP)]
    return Control(arp_from(BEACON_MAC), rf"who-has {BEACON_IP.replace('.', '[.]')} tell 0[.]0[.]0[.]0", beacon)


def arp_from(mac: str) -> str:
    """ARP with sender hardware address MAC (read in the ARP payload: `ether src` matches nothing
    on the cooked captures of `-i any`)."""
    h = mac.replace(":", "").lower()
    return f"arp and arp[8:4] = 0x{h[:8]} and arp[12:2] = 0x{h[8:]}"


def garps(mac: str, ip: str) -> list:
    return [Ether(src=mac, dst=BCAST) / ARP(op=1, hwsrc=mac, psrc=ip, hwdst="00:00:00:00:00:00", pdst=ip),
            Ether(src=mac, dst=BCAST) / ARP(op=2, hwsrc=mac, psrc=ip, hwdst=BCAST, pdst=ip)]


def arp_spoof(env: Env) -> Result:
    a, a2, b = vm(env, "atk-a1"), vm(env, "atk-a2"), vm(env, "atk-b1")
    ports = {v["name"]: (None, v["port"]) for v in env.vms.values() if v["site"] == a["site"]}
    victims = env.tenant_nodes(b["tenant"])
    # cross-tenant: any trace of the attacker's claims in the other tenant is a failure
    before = snapshot(env, victims)
    with watch_nodes(env, victims, arp_from(a["mac"]), arp_control()) as w, \
            Watch(ports, "arp", inbound=True) as watch:
        sent = inject(env.netns(a["name"]), "eth0", garps(a["mac"], b["ip"]) + garps(a["mac"], b["gateway"]), count=2)
    after = snapshot(env, victims)
    with watch_nodes(env, victims, arp_from(b["mac"])) as ctl:
        inject(env.netns(b["name"]), "eth0", garps(b["mac"], b["ip"]))
    cross = observe(Result("arp_spoof", "", sent=sent, leaked=w.total(), control=ctl.total(),
                           state_changed=diff(before, after, [a["mac"]]),
                           sent_by=[Sent(f"{a['name']}:eth0", f"gratuitous ARP claiming {b['ip']}, {b['gateway']}",
                                         sent)], errors=list(ctl.errors) + list(watch.errors),
                           notes=[f"cross-tenant: {a['name']} claims {b['ip']} and {b['gateway']}: "
                                  f"seen in {b['tenant']} {w.seen() or 'nowhere'}"]), w)
    # within the tenant: not blocked (no port security), so it must be detected; then the victims'
    # entries are restored (every neighbour or FDB entry naming the attacker's MAC is removed)
    mine = [n for n in env.tenant_nodes(a["tenant"]) if n != a["name"]]
    before = snapshot(env, mine)
    with Watch(ports, "arp", inbound=True) as watch2:
        sent = inject(env.netns(a["name"]), "eth0", garps(a["mac"], a2["ip"]) + garps(a["mac"], a["gateway"]),
                      count=2)
    after = snapshot(env, mine)
    effect = diff(before, after, [a["mac"]])
    captured = {**watch.lines, **{k: watch.lines.get(k, []) + v for k, v in watch2.lines.items()}}
    found = detect(env, captured)
    restored = forget_macs(env, [a["mac"]], nodes=mine) if found else []
    intra = Result("arp_spoof", "", sent=sent, detected=found, must_detect=True,
                   control=len(watch2.lines.get(a["name"], [])), errors=list(watch2.errors),
                   sent_by=[Sent(f"{a['name']}:eth0", f"gratuitous ARP claiming {a2['ip']}, {a['gateway']}", sent)],
                   notes=[f"within {a['tenant']}: {a['name']} claims {a2['ip']} and {a['gateway']}; arpwatch: "
                          f"{'; '.join(found) or 'NOTHING'}; effect in {a['tenant']} (no port security): "
                          f"{'; '.join(effect) or 'none'}"
                          + (f"; restored after detection: {'; '.join(restored)}" if restored else "")])
    return merge("arp_spoof", env.realization(), [cross, intra, _secured(env)])


def _secured(env: Env) -> Result:
    from scapy.layers.inet import IP, UDP
    from scapy.packet import Raw

    s1, s2 = vm(env, "atk-s1"), vm(env, "atk-s2")
    forged = "02:a7:7a:c0:00:02"
    frames = garps(s1["mac"], s2["ip"]) + garps(s1["mac"], s1["gateway"]) + garps(forged, s1["ip"]) + [
        Ether(src=s1["mac"], dst=BCAST) / IP(src=s2["ip"], dst=s1["gateway"]) / UDP(dport=9) / Raw(b"x" * 32),
        Ether(src=forged, dst=BCAST) / IP(src=s1["ip"], dst=s1["gateway"]) / UDP(dport=9) / Raw(b"x" * 32)]
    nodes = [n for n in env.tenant_nodes(s1["tenant"]) if n == s2["name"] or n.endswith(f".{s1['vpc']}")]
    before = _dropped(s1, port_security.cookie(s1["name"]))
    with watch_nodes(env, nodes, f"({arp_from(s1['mac'])}) or ({arp_from(forged)}) or "
                                 f"(ip and src host {s2['ip']} and not dst host {s2['ip']}) or udp port 9",
                     arp_control()) as w:
        sent = inject(env.netns(s1["name"]), "eth0", frames, count=2)
    # OVS pushes datapath flow statistics to the OpenFlow rules periodically: wait for them
    ns.wait_for(lambda: _dropped(s1, port_security.cookie(s1["name"])) - before >= sent, timeout=3, step=0.2)
    dropped = _dropped(s1, port_security.cookie(s1["name"])) - before
    with watch_nodes(env, nodes, arp_from(s1["mac"])) as ctl:
        inject(env.netns(s1["name"]), "eth0", garps(s1["mac"], s1["ip"]))
    return observe(Result("arp_spoof", "", sent=sent, leaked=w.total(),
                          control=ctl.total() if dropped >= sent else 0, errors=list(ctl.errors),
                          sent_by=[Sent(f"{s1['name']}:eth0", "spoofed frames (port security)", sent)],
                          notes=[f"port security ({s1['vpc']}): {sent} spoofed frames from {s1['name']}, dropped at its "
                         f"port {dropped}, seen at {w.seen() or 'nowhere'}; its own GARP seen {ctl.total()} times"]), w)


def _dropped(v: dict, cookie: int) -> int:
    """Packets counted by the drop rule of V's port (ovs-ofctl dump-flows with its cookie)."""
    out = ns.run(["ovs-ofctl", "dump-flows", naming.bridge(v["server"]), f"cookie={cookie:#x}/-1"]).stdout
    return sum(int(part.split("=")[1].rstrip(",")) for line in out.splitlines() if "actions=drop" in line
               for part in line.split() if part.startswith("n_packets="))


def detect(env: Env, lines_by_vm: dict[str, list[str]]) -> list[str]:
    """arpwatch over the captures of each VM's port, against the records of that VM's VPC."""
    out = []
    for name, lines in sorted(lines_by_vm.items()):
        vpc = env.vms[name]["vpc"]
        members = [v for v in env.vms.values() if v["vpc"] == vpc]
        owners = arpwatch.owners_from_records(members, {v["gateway"]: set() for v in members})
        out += [f"port of {name}: {s}" for s in arpwatch.spoofs(arpwatch.claims(lines), owners)]
    return list(dict.fromkeys(out))
