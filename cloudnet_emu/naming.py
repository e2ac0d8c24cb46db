"""Naming and ownership rules: every object cloudnet-emu creates is recognisably ours.

    network namespace   cn-<testbed>-<node>          e.g. cn-cloudnet-pe1
    logical router ns   cn-<testbed>-<pe>.<tenant>   VRF fallback: one namespace per VRF
    root-namespace dev  cn<k>-<name>                 k: one letter saying what it is (below)
    OVS bridge          cnb-<site|server>            external_ids:cloudnet-emu-testbed=<testbed>
    server trunk veth   cnt-<server> / cns-<server>  (site switch side / server bridge side)
    CE trunk veth       cnc-<cloud site>             site switch side of the cloud CE router's trunk
    VM port             cnv-<vm>                     on its server's bridge, access port of the VPC's VLAN
    hand-off port       cnl-<8 hex>                  per-VLAN port toward a logical CE or a PE (no 802.1Q)
    state               /run/cloudnet-emu/<testbed>/ (0700, root only)

Inside our own namespaces interface names are local and named after the peer node
(`ip -n cn-cloudnet-pe1 link` shows p1, pe2, acme-hq ...), VRF devices `vrf-<tenant>`,
VXLAN devices `vx-<tenant>`, the site LAN bridge `lan`.

A node name is at most MAX_NAME characters so that the longest root-namespace name,
'cnX-' + name, fits the kernel's 15-character interface names.  `clean` removes only
namespaces with the `cn-` prefix, root devices matching ROOT_DEV_RE and OVS bridges
carrying our external_id, never anything else.
"""
from __future__ import annotations

import re
import hashlib

IFNAMSIZ = 15
PREFIX = "cn"
MAX_NAME = IFNAMSIZ - len("cnX-")      # 11
NETNS_PREFIX = "cn-"
OVS_OWNER_KEY = "cloudnet-emu-testbed"
ROOT_DEV_RE = re.compile(r"^cn[btscvl]-[a-z0-9.-]+$")
STATE_ROOT = "/run/cloudnet-emu"


def netns(testbed: str, node: str) -> str:
    return f"{NETNS_PREFIX}{testbed}-{node}"


def vrf_node(pe: str, tenant: str) -> str:
    """Node name of a tenant's VRF on a PE when VRFs are realized as namespaces."""
    return f"{pe}.{tenant}"


def bridge(name: str) -> str:
    return f"cnb-{name}"


def trunk_site_side(server: str) -> str:
    return f"cnt-{server}"


def trunk_server_side(server: str) -> str:
    return f"cns-{server}"


def ce_trunk(site: str) -> str:
    return f"cnc-{site}"


def handoff(testbed: str, *parts) -> str:
    """Root-namespace end of a per-VLAN hand-off veth: unique per testbed and purpose."""
    digest = hashlib.sha1("/".join(map(str, (testbed,) + parts)).encode()).hexdigest()[:8]
    return f"cnl-{digest}"


def pe_attachment(site: str, vlan: int) -> str:
    """PE-side interface of a cloud VPC attachment (an 802.1Q sub-interface name, or a veth)."""
    return f"{site}.{vlan}"


def vpls_bridge(vpc: str) -> str:
    return f"br-{vpc}"


def vpls_vxlan(vpc: str) -> str:
    return f"vxl-{vpc}"


def vm_port(vm: str) -> str:
    return f"cnv-{vm}"


def vrf_dev(tenant: str) -> str:
    return f"vrf-{tenant}"


def vxlan_dev(tenant: str) -> str:
    return f"vx-{tenant}"


def transit_bridge(tenant: str) -> str:
    """The tenant's transit segment in a PE's namespace (control=bgp: an EVPN L2 VNI)."""
    return f"tb-{tenant}"


def transit_port(tenant: str) -> str:
    """The PE end of the veth from the transit bridge into the tenant's VRF."""
    return f"tv-{tenant}"


def is_ours_netns(name: str, testbed: str | None = None) -> bool:
    if testbed is not None:
        return name.startswith(f"{NETNS_PREFIX}{testbed}-")
    return name.startswith(NETNS_PREFIX)
