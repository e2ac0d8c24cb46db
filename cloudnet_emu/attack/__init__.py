"""`cloudnet-emu attack`: the isolation list run against a running testbed.

One module per family of cases; each case is a function Env -> Result (result.py), whose status
is a verdict (pass, fail, error, not checked); a case that raises is an error naming why:

    spoof.py      label_spoof (1), tunnel_inject (2)
    sweep.py      sweep (3): the Internet node probes every tenant address
    tenancy.py    overlap (4), vrf_fallthrough (5)
    vlan.py       vlan_hop (6): double-tagged and priority-tagged frames from a VM, bad tags on a trunk
    arp.py        arp_spoof (7): gratuitous ARP across and within a tenant; arpwatch detects
    flap.py       mac_flap (8): a MAC moving between sites; the Network Manager's detector flags it
    dad.py          under control=bgp: FRR's EVPN duplicate-address detection flags it
    reconverge.py reconverge (9): a cross-tenant probe stream during a link flap and a migration
    bgp.py        bgp_session (10): CEs, cloud CEs, the Internet node and the VMs open BGP to every
                  provider address (control=bgp; not checked under static)
    rt.py         rt_import (11): a route exported with one tenant's route target lands in no other
                  tenant's VNI (FDB, zebra) or VRF (FIB) (control=bgp; not checked under static)

Cases 6-9 need VMs, and 10-11 under control=bgp (the VMs attack and export routes there): `run` attaches its own (named atk-*) through the Cloud Manager and detaches
them at the end; then every neighbour, bridge FDB and OVS MAC-table entry naming a MAC the
attack used (its VMs', its forged ones) is removed in every namespace of the testbed, so the
testbed is left as it was found.  Frames are crafted with scapy and sent from raw sockets opened
inside the attacker's namespace; sniffers are tcpdump inside the victims'.
"""
from __future__ import annotations

from typing import Callable, Optional

from ..errors import CloudnetError
from ..kernel.exec import SubprocessError
from .actors import Actors
from .result import Result, failed
from .tools import Env, forget_macs

# the MACs the crafted frames use (spoof.py, arp.py): never legitimate anywhere
FORGED_MACS = ("02:a7:7a:c0:00:01", "02:a7:7a:c0:00:02", "02:a7:7a:c0:00:98", "02:a7:7a:c0:00:99")

CASE_NAMES = ("label_spoof", "tunnel_inject", "sweep", "overlap", "vrf_fallthrough", "vlan_hop",
              "arp_spoof", "mac_flap", "reconverge", "bgp_session", "rt_import")
NEEDS_VMS = {"vlan_hop", "arp_spoof", "mac_flap", "reconverge"}
NEEDS_VMS_UNDER_BGP = {"bgp_session", "rt_import"}


class UnknownCase(CloudnetError):
    pass


def cases() -> dict[str, Callable[[Env], Result]]:
    # the cases load scapy (about 0.3 s): only when a case runs, not at every `cloudnet-emu` start
    from . import arp, bgp, flap, reconverge, rt, spoof, sweep, tenancy, vlan
    table = {"label_spoof": spoof.label_spoof, "tunnel_inject": spoof.tunnel_inject, "sweep": sweep.sweep,
             "overlap": tenancy.overlap, "vrf_fallthrough": tenancy.vrf_fallthrough, "vlan_hop": vlan.vlan_hop,
             "arp_spoof": arp.arp_spoof, "mac_flap": flap.mac_flap, "reconverge": reconverge.reconverge,
             "bgp_session": bgp.bgp_session, "rt_import": rt.rt_import}
    assert tuple(table) == CASE_NAMES
    return table


def check_names(names) -> list[str]:
    bad = [n for n in names if n not in CASE_NAMES]
    if bad:
        raise UnknownCase(f"unknown attack case(s) {', '.join(bad)}; cases: {', '.join(CASE_NAMES)}")
    return list(names)


def run(testbed: Optional[str] = None, names=None, progress=lambda s: None, env: Optional[Env] = None) -> list[Result]:
    """Run the cases NAMES (default all) against a running testbed; one Result per case.  ENV (an
    Env.open of the testbed) may be given to read afterwards which MACs the attack used (suspects)."""
    names = check_names(names) if names else list(CASE_NAMES)
    env = env or Env.open(testbed)
    env.suspects.update(FORGED_MACS)
    table = cases()
    out = []
    actors = None
    try:
        if NEEDS_VMS & set(names) or (NEEDS_VMS_UNDER_BGP & set(names) and env.control() == "bgp"):
            progress("attaching the attack's VMs")
            actors = Actors.attach(env)
            env.suspects.update(v["mac"] for n, v in env.vms.items() if n in actors.names)
        for name in names:
            progress(f"case {name}")
            out.append(run_case(env, name, table[name]))
    finally:
        if actors is not None:
            progress("detaching the attack's VMs")
            actors.detach()
        progress("removing the attack's MACs from every table")
        cleanup(env)
    return out


def run_case(env: Env, name: str, fn: Callable[[Env], Result]) -> Result:
    """FN(ENV), or an error result naming what it raised (a sender that could not send, a sniffer
    that died in a control, a command that failed)."""
    try:
        return fn(env)
    except (CloudnetError, OSError, LookupError, SubprocessError) as e:
        return failed(name, env.realization(), f"{type(e).__name__}: {e}")


def cleanup(env: Env) -> list[str]:
    """Remove every neighbour/FDB entry naming a MAC the attack used, everywhere in the testbed."""
    return forget_macs(env, env.suspects)
