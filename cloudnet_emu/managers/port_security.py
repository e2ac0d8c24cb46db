"""Port security for a VPC (`port_security: true`), as Neutron's `prevent_arp_spoofing`.

On the VM's server bridge, OpenFlow rules on its access port (`cnv-<vm>`):

    priority 210  in_port=PORT, dl_src=MAC, arp, arp_spa=IP, arp_sha=MAC   -> NORMAL
    priority 210  in_port=PORT, dl_src=MAC, ip, nw_src=IP                   -> NORMAL
    priority 200  in_port=PORT                                              -> drop  (other MACs,
                  other senders, IPv6, anything tagged)

Every rule of a VM carries the cookie `cookie(vm)`, so removal takes exactly the VM's rules.  They
are one OvsFlows action in the Cloud Manager's unit "secure:<vm>": built at attach (after the port
exists: at `up`, after the bulk OVS transaction, see secure_all), undone at detach, undone and built
again on the destination bridge when the VM migrates.  Realized by realize/ (add-flow; undo:
del-flows by cookie).
"""
from __future__ import annotations

import zlib

from .. import naming
from ..plan.actions import OvsFlows

COOKIE_TAG = 0x5EC << 52           # "sec": tells our port-security rules from any other


def cookie(vm_name: str) -> int:
    return COOKIE_TAG | zlib.crc32(vm_name.encode())


def flows(vm: dict) -> list[str]:
    c, port, mac, ip = f"{cookie(vm['name']):#x}", vm["port"], vm["mac"].lower(), vm["ip"]
    return [f"cookie={c},priority=210,in_port={port},dl_src={mac},arp,arp_spa={ip},arp_sha={mac},actions=NORMAL",
            f"cookie={c},priority=210,in_port={port},dl_src={mac},ip,nw_src={ip},actions=NORMAL",
            f"cookie={c},priority=200,in_port={port},actions=drop"]


def actions(vm: dict) -> list[OvsFlows]:
    """The VM's rules on its (current) server's bridge."""
    return [OvsFlows(naming.bridge(vm["server"]), cookie(vm["name"]), tuple(flows(vm)))]


def unit(vm_name: str) -> str:
    return f"secure:{vm_name}"


def enabled(cloud, vm: dict) -> bool:
    return bool(cloud.vpc(vm["vpc"]).port_security)


def secure(cloud, vm: dict) -> None:
    """Record and apply the VM's rules in the Cloud Manager's ledger."""
    cloud.ledger.build(unit(vm["name"]), [], actions(vm))


def secure_all(cloud) -> int:
    """Rules for every VM of a port-security VPC (after a bulk attach); the number of VMs."""
    vms = [vm for vm in cloud.vms() if enabled(cloud, vm)]
    for vm in vms:
        secure(cloud, vm)
    return len(vms)
