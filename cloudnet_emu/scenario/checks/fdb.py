"""`fdb: {bridge, mac, port}`: MAC is in the forwarding table of an OVS or Linux bridge (at PORT)."""
from __future__ import annotations

import re
from typing import Optional

from pydantic import Field

from ... import naming
from ...errors import CloudnetError
from ...kernel import ns
from ...spec.model import MAC_RE, Strict
from ...verdict import Status, Verdict, judged
from ..kind import CheckKind
from ..paper import Paper, vm_ref
from ..world import World


class FdbCheck(Strict):
    bridge: str = Field(description="an OVS bridge (cnb-dc1), a cloud site (dc1), or NODE:BRIDGE for a Linux bridge")
    mac: str = Field(description="a MAC, or a VM name")
    port: Optional[str] = None


def paper(w: Paper, body: FdbCheck, at: tuple):
    if not re.match(MAC_RE, body.mac.lower()):
        yield from vm_ref(w, body.mac, at + ("mac",), "be looked up in a forwarding table")


def run(w: World, f: FdbCheck, expect: str) -> Verdict:
    mac = w.mac(f.mac)
    if ":" in f.bridge and not f.bridge.startswith("cnb-"):   # NODE:BRIDGE, a Linux bridge (VPLS instance)
        node, br = f.bridge.split(":", 1)
        res = ns.run(["bridge", "fdb", "show", "br", br], netns=w.netns(node), check=False)
        rows = [l for l in res.stdout.splitlines() if l.startswith(mac)]
        port = rows[0].split(" dev ")[1].split()[0] if rows else None
    else:
        br = f.bridge if f.bridge.startswith("cnb-") else naming.bridge(f.bridge)
        res = ns.run(["ovs-appctl", "fdb/show", br], check=False)
        names = _ofports(br)
        rows = [l for l in res.stdout.splitlines() if mac in l]
        port = names.get(rows[0].split()[0]) if rows else None
    if res.returncode != 0:
        return judged(Status.ERROR, f"cannot read the FDB of {f.bridge}: {(res.stderr or res.stdout).strip()[:200]}")
    if not rows:
        return judged(Status.FAIL, f"{mac} not in the FDB of {f.bridge}")
    want = _port_name(w, f)
    ok = want is None or port == want
    return judged(Status.PASS if ok else Status.FAIL,
                  f"{mac} at port {port}" + (f" (expected {want})" if want and not ok else ""))


def _port_name(w: World, f) -> Optional[str]:
    """Symbolic ports: `uplink` (the VPC's hand-off toward the PE in that site), `vm` (the VM's own
    port), `server:NAME` (the trunk from the site switch to a server); anything else is literal."""
    if f.port in (None,) or f.port not in ("uplink", "vm") and not f.port.startswith("server:"):
        return f.port
    if f.port.startswith("server:"):
        return naming.trunk_site_side(f.port.split(":", 1)[1])
    vm = w.cloud.data["vms"].get(f.mac)
    if vm is None:
        raise CloudnetError(f"port {f.port!r} needs `mac:` to name a VM")
    if f.port == "vm":
        return vm["port"]
    site = f.bridge.removeprefix("cnb-")
    vlan = w.cloud.data["vlans"].get(site, {}).get(vm["vpc"])
    if vlan is None:
        return f"(no {vm['vpc']} uplink in {site})"
    return naming.handoff(w.testbed, site, vlan, "tor")


def _ofports(bridge: str) -> dict[str, str]:
    out = ns.run(["ovs-ofctl", "show", bridge], check=False).stdout
    return {m.group(1): m.group(2) for m in re.finditer(r"^\s*(\d+)\(([^)]+)\)", out, re.M)}


def title(body: FdbCheck) -> str:
    return f"fdb {body.mac} on {body.bridge}" + (f" at {body.port}" if body.port else "")


KIND = CheckKind("fdb", FdbCheck, paper, run, title, "state")
