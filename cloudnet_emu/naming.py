"""Naming and ownership rules: every object cloudnet-emu creates is recognisably ours.

    network namespace   cn-<testbed>-<node>          e.g. cn-cloudnet-pe1
    logical router ns   cn-<testbed>-<pe>.<tenant>   VRF fallback: one namespace per VRF
    root-namespace dev  cn<k>-<name>                 k: one letter saying what it is (below)
    OVS bridge          cnb-<site|server>            external_ids:cloudnet-emu-testbed=<testbed>
    OVS patch port      cnt-<server> / cns-<server>  (site side / server side)
    uplink veth (root)  cnu-<cloud site>             site switch's trunk toward its PE
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

IFNAMSIZ = 15
PREFIX = "cn"
MAX_NAME = IFNAMSIZ - len("cnX-")      # 11
NETNS_PREFIX = "cn-"
OVS_OWNER_KEY = "cloudnet-emu-testbed"
ROOT_DEV_RE = re.compile(r"^cn[btsuv]-[a-z0-9.-]+$")
STATE_ROOT = "/run/cloudnet-emu"


def netns(testbed: str, node: str) -> str:
    return f"{NETNS_PREFIX}{testbed}-{node}"


def vrf_node(pe: str, tenant: str) -> str:
    """Node name of a tenant's VRF on a PE when VRFs are realized as namespaces."""
    return f"{pe}.{tenant}"


def bridge(name: str) -> str:
    return f"cnb-{name}"


def uplink(site: str) -> str:
    return f"cnu-{site}"


def patch_site_side(server: str) -> str:
    return f"cnt-{server}"


def patch_server_side(server: str) -> str:
    return f"cns-{server}"


def vm_port(vm: str) -> str:
    return f"cnv-{vm}"


def vrf_dev(tenant: str) -> str:
    return f"vrf-{tenant}"


def vxlan_dev(tenant: str) -> str:
    return f"vx-{tenant}"


def is_ours_netns(name: str, testbed: str | None = None) -> bool:
    if testbed is not None:
        return name.startswith(f"{NETNS_PREFIX}{testbed}-")
    return name.startswith(NETNS_PREFIX)
