"""The paper's two controllers, and the narrow interface between them.

    Cloud Manager (cloud.py)      placement, VMs, VLANs on cloud-site switches, logical CEs
    Network Manager (network.py)  PE VPN endpoints, VRFs/VPLS instances, advertisement to other PEs

Figure 2's attach, each step timed:

    1. VM creation after placement    Cloud Manager
    2. VLAN on the switch             Cloud Manager
    3. logical CE (first VM of a VPC in a site; reused afterwards)   Cloud Manager
    4. VPN setup on the PE            Network Manager, asked by the Cloud Manager

The only thing that crosses between them is data (messages.py): an EndpointRequest
naming the VPC, the cloud site, its VLAN and the hand-off cable (a veth end the Cloud
Manager leaves in the root namespace), and an EndpointReply with the PE interface,
the attachment addresses and the VPN identifiers.  Every message is passed through
JSON, so either manager can move into its own process.  Neither touches the other's
devices: the Network Manager only adopts the cable it was handed.

Each manager keeps an undo log of the actions it applied (JSON, in the testbed's
state directory), grouped in units with users; detach undoes exactly what attach did.
"""

import json as _json
from typing import Optional

from .. import state
from .cloud import CloudManager
from .network import NetworkManager


def open_managers(testbed: str, record: dict, executor=None):
    """(CloudManager, NetworkManager) of a running testbed, joined by a data-only channel;
    `executor` for both ledgers (default: the kernel; managers/paper.py's Paper: on paper)."""
    network = NetworkManager(testbed, record, executor)

    def call(method: str, message: dict) -> dict:
        reply = getattr(network, method)(_json.loads(_json.dumps(message)))
        return _json.loads(_json.dumps(reply))

    return CloudManager(testbed, record, call, executor), network


def of_testbed(testbed: Optional[str] = None, executor=None):
    """open_managers of a running testbed by name (None: the one running)."""
    name = state.resolve(testbed)
    return open_managers(name, state.read(name), executor)
