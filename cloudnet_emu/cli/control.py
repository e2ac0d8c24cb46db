"""The CLI's view of the provider's control plane: live routing state for `inspect`, and
`exec NODE -- vtysh ...` aimed at that router's own FRR.

vtysh without `--vty_socket` talks to the machine's FRR in /run/frr (or to nothing), never to
a router of ours: `exec` adds `--vty_socket <the router's instance directory>` when the command
is vtysh, the node runs FRR, and the user did not name a socket.
"""
from __future__ import annotations

import os

from .. import state
from ..realize.frr import evpn_macs, sessions, vrf_routes


def with_vty_socket(testbed: str, node: str, command) -> list[str]:
    command = list(command)
    if not command or os.path.basename(command[0]) != "vtysh" or "--vty_socket" in command:
        return command
    directory = state.daemon_dir(testbed, node)
    if not os.path.isdir(directory):
        return command
    return [command[0], "--vty_socket", directory, *command[1:]]


def routing(testbed: str, record: dict) -> dict:
    """Under control bgp (read from the routers now): {"routing": router -> {daemons, peers}, "evpn": PE ->
    VNI -> MAC -> {where, seq}, "vrf_routes": VRF -> prefix -> next hop}; else {}."""
    control = state.world(record).control
    if control.realization != "bgp":
        return {}
    live = sessions(testbed, control)
    vrfs = [r for r in live if "." in r and live[r]["daemons"].get("bgpd")]
    pes = [r for r in live if "." not in r and live[r]["daemons"].get("zebra")]
    return {"routing": live, "evpn": evpn_macs(testbed, pes), "vrf_routes": vrf_routes(testbed, vrfs)}
