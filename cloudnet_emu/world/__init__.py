"""The typed description of a running testbed (state.json's `info`): see world/model.py."""
from .model import World
from .parts import Cloud, Control, CoreLink, Internet, Server, Site, Underlay, Vpc, Vpn, Vrf

__all__ = ["World", "Cloud", "Control", "CoreLink", "Internet", "Server", "Site", "Underlay", "Vpc", "Vpn", "Vrf"]
