"""Negative controls of the attack suite: remove a defence, and the same case reports the leak."""
from __future__ import annotations

import subprocess

import pytest

from cloudnet_emu import attack, naming, state

pytestmark = pytest.mark.vmtier


def test_without_the_edge_filter_tunnel_injection_leaks(testbed):
    """Negative control: with the provider edge table removed from the PEs, the very same
    injection reaches tenant namespaces and poisons the PE's neighbour table."""
    name = testbed["testbed"]
    info = state.read(name)["info"]
    for pe in info["underlay"]["pe_index"]:
        subprocess.run(["ip", "netns", "exec", naming.netns(name, pe), "nft", "delete", "table", "inet",
                        "cloudnet_edge"], check=True)
    (r,) = attack.run(name, ["tunnel_inject"])
    assert r.leaked > 0 and not r.held, r.to_dict()
    assert any("02:a7:7a:c0:00:01" in s for s in r.state_changed), r.to_dict()
