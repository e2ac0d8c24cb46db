"""ARP spoofing detection: claimed IP -> MAC bindings compared with the Cloud Manager's records.

A sniffer on the VMs' access ports (tcpdump -e -nn arp) yields lines such as

    02:11:22:33:44:55 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.1.1.1 tell 10.1.1.1, length 28
    02:11:22:33:44:55 > 02:aa:..., ethertype ARP (0x0806), length 42: Reply 10.1.1.7 is-at 02:11:22:33:44:55, length 28

A claim (sender IP, sender MAC) is a spoof when the IP is recorded for another MAC (a VM's
address, or a VPC gateway, which no VM may claim).  Pure functions: unit-tested without root.
"""
from __future__ import annotations

import re

_REQ = re.compile(r"^\S+\s+(?:\S+\s+)*?([0-9a-f]{2}(?::[0-9a-f]{2}){5}) > .*Request who-has \S+ (?:\(\S+\) )?tell (\S+?),")
_REP = re.compile(r"^\S+\s+(?:\S+\s+)*?([0-9a-f]{2}(?::[0-9a-f]{2}){5}) > .*Reply (\S+) is-at ([0-9a-f:]{17})")


def claims(lines: list[str]) -> list[tuple[str, str]]:
    """(ip, mac) bindings announced by the ARP packets in tcpdump -e -nn lines."""
    out = []
    for line in lines:
        m = _REP.search(line)
        if m:
            out.append((m.group(2), m.group(3).lower()))
            continue
        m = _REQ.search(line)
        if m:
            out.append((m.group(2), m.group(1).lower()))
    return out


def spoofs(found: list[tuple[str, str]], owners: dict[str, set]) -> list[str]:
    """Claims that contradict the records OWNERS (ip -> set of MACs allowed to announce it)."""
    out = []
    for ip, mac in dict.fromkeys(found):
        allowed = owners.get(ip)
        if allowed is not None and mac not in {m.lower() for m in allowed}:
            out.append(f"{mac} claims {ip} (recorded: {', '.join(sorted(allowed)) or 'a gateway, no VM'})")
    return out


def owners_from_records(vms: list[dict], gateways: dict[str, set] | None = None) -> dict[str, set]:
    """ip -> MACs allowed to announce it: each VM its own address; gateways their own MACs (or none)."""
    out: dict[str, set] = {}
    for vm in vms:
        out.setdefault(vm["ip"], set()).add(vm["mac"].lower())
    for ip, macs in (gateways or {}).items():
        out.setdefault(ip, set()).update(m.lower() for m in macs)
    return out
