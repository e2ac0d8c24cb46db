#!/usr/bin/env python3
"""Benchmark: iperf3 TCP throughput through Figure 1's VPN paths beside a raw veth pair and a plain OVS bridge.

Four paths, all measured in the same run, one stream and --streams streams (default 4) each:

    veth     two namespaces joined by one veth pair: what the machine can do
    veth-no-offload  the same with TSO, GSO, GRO and TX checksumming off: what is left of the pair
             when every packet is MTU-sized, as the userspace datapath makes them
    ovs      two namespaces on one plain OVS bridge of the same datapath type as the testbed's
             (TX checksum off on its ports where the testbed's are: the userspace datapath without TSO)
    l3vpn    a bravo-vpc VM in dc1 to bravo-h1 at bravo-hq: VM port, server and site switches,
             logical CE, PE VRF, provider core (VXLAN or MPLS), PE, enterprise LAN
    vpls     an acme-vpc VM in dc1 to acme-h1 at acme-hq, the same core as layer 2

The testbed is topologies/cloudnet.yaml with its bandwidths and delays removed (--shaped keeps
them: then the figure is the declared 100 Mbit/s of the enterprise links, HTB doing its job).
With --tso, where the testbed's datapath is the userspace one without TSO, everything is measured
a second time with Open vSwitch's userspace TSO on (the `netdev-tso` realization): the bench sets
other_config:userspace-tso-enable=true and restarts ovs-vswitchd, and afterwards puts the key back
as it was and restarts it again (turning TSO off takes a restart).  Machine-wide while it runs, as
--rcu-expedited of bench/scale.py; the product itself only reads the key.

Prints Gbit/s per path and the ratio to the veth pair.  Last line:

    l3vpn 1 stream 0.52 Gbit/s (veth 9.80, ratio 0.05); vpls ... ; ovs ...

Run as root, under the root-test lock: sudo flock /run/lock/cloudnet-emu-root-tests.lock \\
    .venv/bin/python bench/throughput.py [--seconds S] [--streams N] [--shaped] [--tso]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from cloudnet_emu import lifecycle, naming, pipeline  # noqa: E402
from cloudnet_emu.kernel import ns, offload, ovs, ovs_daemon  # noqa: E402
from cloudnet_emu.plan import choose  # noqa: E402

PORT = 5299


def iperf(server_ns: str, server_ip: str, client_ns: str, seconds: float, streams: int) -> float:
    """Gbit/s received by an iperf3 server in SERVER_NS from a client in CLIENT_NS."""
    srv = subprocess.Popen(["ip", "netns", "exec", server_ns, "iperf3", "-s", "-1", "-p", str(PORT)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        out = None
        for _ in range(50):                      # the server listens within a few ms
            res = subprocess.run(["ip", "netns", "exec", client_ns, "iperf3", "-c", server_ip, "-p", str(PORT), "-J",
                                  "-t", str(seconds), "-P", str(streams)], capture_output=True, text=True)
            out = json.loads(res.stdout or "{}")
            if "error" not in out and res.returncode == 0:
                return out["end"]["sum_received"]["bits_per_second"] / 1e9
            time.sleep(0.05)
        raise RuntimeError(f"iperf3 {client_ns} -> {server_ip}: {out.get('error') if out else 'no output'}")
    finally:
        # The one-shot server ends after the test: wait for it, so that the connection closes on both
        # sides (a server killed first leaves the client's FIN retransmitted for minutes, and that
        # orphan keeps the client's namespace, and its veth, alive after the namespace is deleted).
        try:
            srv.wait(timeout=5)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()


def pair(prefix: str, datapath: str | None, offloads: bool = True):
    """Two namespaces a (10.99.0.1) and b (10.99.0.2), joined by a veth pair or through an OVS bridge
    (DATAPATH: a datapath realization, as the testbed's)."""
    a, b = f"{prefix}-a", f"{prefix}-b"
    for n in (a, b):
        ns.create(n)
    if datapath is None:
        ns.run(["ip", "link", "add", "eth0", "netns", a, "type", "veth", "peer", "name", "eth0", "netns", b])
        if not offloads:        # what a packet through the userspace datapath gets: MTU-sized, checksummed
            for n in (a, b):
                ns.run(["ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off", "gro", "off"], netns=n)
    else:
        br = f"cnx{prefix[-4:]}"
        ovs.vsctl([["add-br", br], ["set", "bridge", br, f"datapath_type={choose.OVS_DATAPATH_TYPE[datapath]}",
                                    "fail_mode=standalone"]])
        for n, side in ((a, "a"), (b, "b")):
            port = f"{br}{side}"
            ns.run(["ip", "link", "add", "eth0", "netns", n, "type", "veth", "peer", "name", port])
            ns.run(["ip", "link", "set", port, "up"])
            if choose.csum_off(datapath):
                offload.tx_checksum_off(None, port)
                offload.tx_checksum_off(n, "eth0")
            ovs.vsctl([["add-port", br, port]])
    for n, ip in ((a, "10.99.0.1"), (b, "10.99.0.2")):
        ns.run(["ip", "-n", n, "addr", "add", f"{ip}/24", "dev", "eth0"])
        ns.run(["ip", "-n", n, "link", "set", "eth0", "up"])
        ns.run(["ip", "-n", n, "link", "set", "lo", "up"])
    return a, b


def unpair(prefix: str):
    br = f"cnx{prefix[-4:]}"
    ovs.delete_bridges([br])      # --if-exists: none for a veth pair
    # The root ends go by hand: a namespace outlives its deletion while a TCP orphan of iperf3's
    # retransmits its FIN there (seen: minutes), and would keep its veth, and our port's name, with it.
    for side in "ab":
        ns.run(["ip", "link", "del", f"{br}{side}"], check=False)
    ns.delete_many([f"{prefix}-a", f"{prefix}-b"])


def measure(text: str, args) -> tuple[dict, dict[str, dict[int, float]]]:
    """Up TEXT (a topology), measure every path, down; the testbed's record and Gbit/s per path and streams."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    results: dict[str, dict[int, float]] = {}
    record = pipeline.up(f.name, "control=static", degrade=True)      # the fast realization, as measured
    os.unlink(f.name)
    tb = record["testbed"]
    datapath = record["realizations"].get("datapath", "netdev")
    try:
        cloud, _ = pipeline.managers(tb)
        vms = {"l3vpn": cloud.attach("bravo-vpc", site="dc1", name="tput3"),
               "vpls": cloud.attach("acme-vpc", site="dc1", name="tput2")}
        hosts = {"l3vpn": "bravo-h1", "vpls": "acme-h1"}
        addrs = {h: ip for site in record["info"]["sites"].values() for h, ip in site["hosts"].items()}
        for path in ("l3vpn", "vpls"):
            host = hosts[path]
            results[path] = {s: iperf(naming.netns(tb, host), addrs[host], naming.netns(tb, vms[path]["name"]),
                                      args.seconds, s) for s in (1, args.streams)}
        for path, dp, offloads in (("veth", None, True), ("veth-no-offload", None, False), ("ovs", datapath, True)):
            prefix = f"cnx-tput-{path}"
            try:
                a, b = pair(prefix, dp, offloads)
                results[path] = {s: iperf(b, "10.99.0.2", a, args.seconds, s) for s in (1, args.streams)}
            finally:
                unpair(prefix)
    finally:
        lifecycle.down(tb)
    return record, results


def show(record: dict, results: dict[str, dict[int, float]], args) -> None:
    print(f"iperf3 TCP, {args.seconds:g} s per run, {'shaped as declared' if args.shaped else 'unshaped'} "
          f"(realizations: {', '.join(f'{k}={v}' for k, v in record['realizations'].items())})")
    base = results["veth"]
    for path in ("veth", "veth-no-offload", "ovs", "l3vpn", "vpls"):
        print("  " + f"{path:<16}" + "  ".join(f"{s} stream{'s' if s > 1 else ' '} {g:6.2f} Gbit/s (ratio {g / base[s]:.2f})"
                                              for s, g in results[path].items()))


TSO_KEY = "other_config:userspace-tso-enable"


def with_tso(text: str, args):
    """measure() with Open vSwitch's userspace TSO on; the key and ovs-vswitchd put back after."""
    res = ns.run(ovs.VSCTL + ["--if-exists", "get", "Open_vSwitch", ".", TSO_KEY], check=False)
    old = res.stdout.strip().strip('"') if res.returncode == 0 else ""
    ns.run(ovs.VSCTL + ["set", "Open_vSwitch", ".", f"{TSO_KEY}=true"])
    try:
        ovs_daemon.restart_vswitchd()
        return measure(text, args)
    finally:
        if old:
            ns.run(ovs.VSCTL + ["set", "Open_vSwitch", ".", f"{TSO_KEY}={old}"])
        else:
            ns.run(ovs.VSCTL + ["remove", "Open_vSwitch", ".", "other_config", "userspace-tso-enable"])
        ovs_daemon.restart_vswitchd()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--shaped", action="store_true", help="keep the topology's bandwidths and delays")
    ap.add_argument("--tso", action="store_true", help="also measure with Open vSwitch's userspace TSO on "
                    "(machine-wide while it runs: sets the key and restarts ovs-vswitchd, then puts both back)")
    ap.add_argument("--topology", default="topologies/cloudnet.yaml")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    text = open(args.topology).read()
    if not args.shaped:
        text = re.sub(r",?\s*(bw|delay): [0-9.]+(ms)?", "", text).replace("link: {}", "").replace(", }", "}")
    runs = [measure(text, args)]
    if args.tso and runs[0][0]["realizations"].get("datapath") == "netdev":
        runs.append(with_tso(text, args))
    for record, results in runs:
        show(record, results, args)
    last = []
    for record, results in runs:
        base, dp = results["veth"], record["realizations"].get("datapath")
        last += [f"{path} {s} stream{'s' if s > 1 else ''} {results[path][s]:.2f} Gbit/s "
                 f"(veth {base[s]:.2f}, ratio {results[path][s] / base[s]:.2f}{', ' + dp if len(runs) > 1 else ''})"
                 for path in ("l3vpn", "vpls", "ovs") for s in (1, args.streams)]
    print("; ".join(last))


if __name__ == "__main__":
    main()
