"""Negative controls of the attack suite: remove a defence, and the same case reports the leak."""
from __future__ import annotations

import subprocess

import pytest

from cloudnet_emu import attack, naming, state
from cloudnet_emu.errors import RealizeError
from cloudnet_emu.kernel import ns
from cloudnet_emu.verdict import Status

pytestmark = [pytest.mark.vmtier, pytest.mark.control("static")]     # the static edge defences taken away; under bgp: test_attack_bgp.py


def test_without_the_edge_defences_spoofed_tunnels_and_labels_leak(testbed):
    """With the provider edge table removed and MPLS input enabled on every PE interface (as before
    realize/edge_filter.py), the very same attack reaches tenant namespaces: VXLAN injection from the
    Internet on a VXLAN core (and poisons the PE's neighbour table), a CE's spoofed VPN label on an
    MPLS core (RFC 4364 section 6)."""
    name = testbed["testbed"]
    record = state.read(name)
    info = record["info"]
    for pe in info["underlay"]["pe_index"]:
        netns = naming.netns(name, pe)
        subprocess.run(["ip", "netns", "exec", netns, "nft", "delete", "table", "inet", "cloudnet_edge"], check=True)
        if record["realizations"]["core"] == "mpls":
            for link in subprocess.run(["ip", "-n", netns, "-o", "link"], capture_output=True, text=True,
                                       check=True).stdout.splitlines():
                dev = link.split(":")[1].strip().split("@")[0]
                try:
                    ns.sysctl(netns, f"net/mpls/conf/{dev}/input", 1)
                except RealizeError:          # a device without MPLS settings
                    pass
    case = "label_spoof" if record["realizations"]["core"] == "mpls" else "tunnel_inject"
    (r,) = attack.run(name, [case])
    assert r.leaked > 0 and not r.held, r.to_dict()
    assert r.status is Status.FAIL and r.reason.startswith("LEAK: "), r.to_dict()
    if case == "tunnel_inject":
        assert any("02:a7:7a:c0:00:01" in s for s in r.state_changed), r.to_dict()
