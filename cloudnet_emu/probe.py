"""What this machine can build: probed by building it, never assumed.

Each feature is tried for real in a scratch namespace `cn-probe-<pid>` (a VRF
device, a VXLAN device, an MPLS route with a label push, an 802.1Q
sub-interface, a netem qdisc, FRR's daemons started there ...), after a
best-effort `modprobe`; the scratch namespace is removed afterwards.  The result is cached per boot in
/run/cloudnet-emu/probe.json; `doctor` always probes afresh.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass

from pyroute2.netlink.exceptions import NetlinkError

from .errors import RealizeError
from .kernel import frr as kfrr
from .kernel import ns, ovs
from .naming import STATE_ROOT
from .plan.frr import DAEMONS as FRR_DAEMONS

MODULES = ["vrf", "mpls_router", "mpls_iptunnel", "8021q", "vxlan", "bridge", "sch_netem",
           "sch_htb", "sch_tbf", "openvswitch"]
TOOLS = ["ip", "tc", "ovs-vsctl", "ovs-ofctl", "tcpdump", "ping", "arping", "mnexec", "dot", "nft"]


@dataclass
class Feature:
    ok: bool
    detail: str


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def probe(cached: bool = True) -> dict[str, Feature]:
    cache = os.path.join(STATE_ROOT, "probe.json")
    key = f"{os.uname().release} {_boot_id()}"
    if cached:
        try:
            with open(cache) as f:
                data = json.load(f)
            if data.get("key") == key and _ovs_same(data["features"]):
                return {k: Feature(**v) for k, v in data["features"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            pass
    features = _probe()
    if os.geteuid() == 0:
        os.makedirs(STATE_ROOT, mode=0o700, exist_ok=True)
        tmp = cache + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"key": key, "features": {k: asdict(v) for k, v in features.items()}}, f)
        os.replace(tmp, cache)
    return features


def _ovs_same(cached: dict) -> bool:
    # OVS may have been started or stopped, its userspace TSO turned on or off, FRR installed or
    # removed, since the cache was written.
    tso = ovs.userspace_tso()       # one ovs-vsctl call: None where OVS does not answer
    return (cached.get("ovs", {}).get("ok") == (tso is not None) and "frr" in cached
            and cached.get("ovs_userspace_tso", {}).get("ok") == bool(tso)
            and (cached["frr"]["ok"] or bool(kfrr.missing(FRR_DAEMONS))))


def _probe() -> dict[str, Feature]:
    f: dict[str, Feature] = {}
    root = os.geteuid() == 0
    f["root"] = Feature(root, "running as root" if root else "run with sudo: namespaces need root")
    for tool in TOOLS:
        path = shutil.which(tool)
        f[f"tool:{tool}"] = Feature(bool(path), path or f"{tool} not found (./setup.sh installs it)")
    ok, why = ovs.available()
    f["ovs"] = Feature(ok, why)
    if not root:
        for name in ("vrf", "vxlan", "bridge", "vlan_filtering", "8021q", "mpls", "mpls_iptunnel",
                     "htb", "tbf", "netem", "ovs_kernel_datapath", "ovs_userspace_tso", "frr"):
            f[name] = Feature(False, "not probed: needs root")
        return f
    if shutil.which("modprobe"):
        for mod in MODULES:
            ns.run(["modprobe", "-q", mod], check=False)
    scratch = f"cn-probe-{os.getpid()}"
    ns.create(scratch)
    try:
        _probe_in(scratch, f)
        f["frr"] = _frr(scratch)
    finally:
        ns.delete(scratch)
    f["ovs_kernel_datapath"] = _ovs_kernel()
    f["ovs_userspace_tso"] = _ovs_tso(f["ovs"].ok)
    return f


def _try(fn) -> Feature:
    try:
        detail = fn()
        return Feature(True, detail or "works")
    except NetlinkError as exc:
        return Feature(False, f"{os.strerror(exc.code)} (kernel lacks it)")
    except Exception as exc:   # a probe records any failure as "feature missing"
        return Feature(False, str(exc))


def _probe_in(scratch: str, f: dict[str, Feature]) -> None:
    ipr = ns.rtnl(scratch)
    try:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
        f["vrf"] = _try(lambda: ipr.link("add", ifname="pv", kind="vrf", vrf_table=4242) and "VRF device created")
        f["bridge"] = _try(lambda: ipr.link("add", ifname="pb", kind="bridge") and "Linux bridge created")
        f["vlan_filtering"] = _try(lambda: ipr.link("set", index=ipr.link_lookup(ifname="pb")[0],
                                                    kind="bridge", br_vlan_filtering=1) and "bridge VLAN filtering on")
        f["vxlan"] = _try(lambda: ipr.link("add", ifname="px", kind="vxlan", vxlan_id=42,
                                           vxlan_port=4789) and "VXLAN device created")
        ipr.link("add", ifname="pa", kind="veth", peer={"ifname": "pz"})
        pa = ipr.link_lookup(ifname="pa")[0]
        ipr.link("set", index=pa, state="up")
        ipr.addr("add", index=pa, address="192.0.2.1", prefixlen=30)
        f["8021q"] = _try(lambda: ipr.link("add", ifname="pa.7", kind="vlan", link=pa, vlan_id=7)
                          and "802.1Q sub-interface created")
        f["mpls"] = _try(lambda: _mpls(scratch))
        f["mpls_iptunnel"] = _try(lambda: ipr.route("add", dst="198.18.0.0/24", gateway="192.0.2.2", oif=pa,
                                                    encap={"type": "mpls", "labels": [100, 200]})
                                  and "route with MPLS push installed")
        for qd, args in (("htb", ["htb", "default", "1"]), ("tbf", ["tbf", "rate", "10mbit", "burst", "32k",
                                                                      "latency", "50ms"]),
                         ("netem", ["netem", "delay", "1ms"])):
            f[qd] = _try(lambda args=args: ns.run(["tc", "qdisc", "replace", "dev", "pa", "root"] + args,
                                                  netns=scratch) and f"{args[0]} qdisc installed")
    finally:
        ipr.close()


def _frr(scratch: str) -> Feature:
    """FRR's daemons, started in the scratch namespace exactly as a provider router's are."""
    lack = kfrr.missing(FRR_DAEMONS)
    if lack:
        return Feature(False, f"FRR missing: {', '.join(lack)} (./setup.sh installs the frr package)")
    directory = tempfile.mkdtemp(prefix="cn-probe-frr-", dir="/run")
    try:
        kfrr.prepare(directory, {d: "frr defaults datacenter\nhostname probe\n" for d in FRR_DAEMONS})
        for daemon in FRR_DAEMONS:
            kfrr.start_many([(scratch, directory, daemon)])
        running = kfrr.pids(directory, scratch)
        if sorted(running) != sorted(FRR_DAEMONS):
            return Feature(False, f"FRR daemons did not stay up: only {', '.join(sorted(running)) or 'none'} "
                                  f"of {', '.join(FRR_DAEMONS)} running")
        version = ns.run([f"{kfrr.SBIN}/zebra", "--version"], check=False).stdout
        return Feature(True, f"{(version.splitlines() or ['FRR'])[0]}: {', '.join(FRR_DAEMONS)} run in a namespace")
    except (RealizeError, OSError) as exc:
        return Feature(False, f"FRR daemons do not start: {exc}")
    finally:
        kfrr.stop(directory, scratch)
        shutil.rmtree(directory, ignore_errors=True)


def _mpls(scratch: str) -> str:
    def check():
        if not os.path.exists("/proc/sys/net/mpls/platform_labels"):
            raise RuntimeError("no MPLS forwarding (mpls_router missing)")
        with open("/proc/sys/net/mpls/platform_labels", "w") as fh:
            fh.write("1000")
    ns.enter(scratch, check)
    ns.run(["ip", "-f", "mpls", "route", "add", "100", "as", "200", "via", "inet", "192.0.2.2", "dev", "pa"],
           netns=scratch)
    return "MPLS label swap route installed"


def _ovs_tso(ovs_ok: bool) -> Feature:
    if ovs_ok and ovs.userspace_tso():     # True, False, or None: no answer
        return Feature(True, "Open vSwitch's userspace TSO is on (other_config:userspace-tso-enable=true)")
    return Feature(False, "Open vSwitch's userspace TSO is off: to opt in, `ovs-vsctl set Open_vSwitch . "
                          "other_config:userspace-tso-enable=true`, then restart ovs-vswitchd (set while it "
                          "runs, TCP across the testbed fails)")


def _ovs_kernel() -> Feature:
    """The kernel datapath answers on the generic netlink family `ovs_datapath`."""
    from pyroute2.netlink import nlmsg
    from pyroute2.netlink.generic import GenericNetlinkSocket
    sock = GenericNetlinkSocket()
    try:
        sock.bind("ovs_datapath", nlmsg)      # resolves the family, or fails with ENOENT
        return Feature(True, "openvswitch kernel datapath present")
    except Exception:   # NetlinkError ENOENT: no such family, no module
        return Feature(False, "no openvswitch kernel module (the userspace datapath works without it)")
    finally:
        sock.close()
