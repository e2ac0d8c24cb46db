"""`cloudnet-emu attack`: the isolation list of issue 6 run against a running testbed.

One module per family of cases; each case is a function Env -> Result (result.py):

    spoof.py      label_spoof (1), tunnel_inject (2)
    sweep.py      sweep (3): the Internet node probes every tenant address
    tenancy.py    overlap (4), vrf_fallthrough (5)
    vlan.py       vlan_hop (6): double-tagged and priority-tagged frames from a VM, bad tags on a trunk
    arp.py        arp_spoof (7): gratuitous ARP across and within a tenant; arpwatch detects
    flap.py       mac_flap (8): a MAC moving between sites; the Network Manager's detector flags it
    reconverge.py reconverge (9): a cross-tenant probe stream during a link flap and a migration

Cases 6-9 need VMs: `run` attaches its own (named atk-*) through the Cloud Manager and detaches
them at the end, so the testbed is left as it was found.  Frames are crafted with scapy and sent
from raw sockets opened inside the attacker's namespace; sniffers are tcpdump inside the victims'.
"""
from __future__ import annotations

from typing import Callable, Optional

from ..errors import CloudnetError
from .result import Result
from .tools import Env

CASE_NAMES = ("label_spoof", "tunnel_inject", "sweep", "overlap", "vrf_fallthrough", "vlan_hop",
              "arp_spoof", "mac_flap", "reconverge")
NEEDS_VMS = {"vlan_hop", "arp_spoof", "mac_flap", "reconverge"}


class UnknownCase(CloudnetError):
    pass


def cases() -> dict[str, Callable[[Env], Result]]:
    from . import arp, flap, reconverge, spoof, sweep, tenancy, vlan
    table = {"label_spoof": spoof.label_spoof, "tunnel_inject": spoof.tunnel_inject, "sweep": sweep.sweep,
             "overlap": tenancy.overlap, "vrf_fallthrough": tenancy.vrf_fallthrough, "vlan_hop": vlan.vlan_hop,
             "arp_spoof": arp.arp_spoof, "mac_flap": flap.mac_flap, "reconverge": reconverge.reconverge}
    assert tuple(table) == CASE_NAMES
    return table


def check_names(names) -> list[str]:
    bad = [n for n in names if n not in CASE_NAMES]
    if bad:
        raise UnknownCase(f"unknown attack case(s) {', '.join(bad)}; cases: {', '.join(CASE_NAMES)}")
    return list(names)


def run(testbed: Optional[str] = None, names=None, progress=lambda s: None) -> list[Result]:
    """Run the cases NAMES (default all) against a running testbed; one Result per case."""
    names = check_names(names) if names else list(CASE_NAMES)
    env = Env.open(testbed)
    table = cases()
    out = []
    actors = None
    try:
        if NEEDS_VMS & set(names):
            from .actors import Actors
            progress("attaching the attack's VMs")
            actors = Actors.attach(env)
        for name in names:
            progress(f"case {name}")
            out.append(table[name](env))
    finally:
        if actors is not None:
            progress("detaching the attack's VMs")
            actors.detach()
    return out
