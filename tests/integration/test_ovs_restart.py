"""ovs-vswitchd restarted mid-run: no fail-open, forwarding resumes, clean works."""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from cloudnet_emu import naming, pipeline, vpcs
from cloudnet_emu.frames import Stream
from cloudnet_emu.kernel import ovs
from cloudnet_emu.kernel.ovs_daemon import flows as _flows, restart_vswitchd, vswitchd_pid
from cloudnet_emu.migration.measure import outage
from cloudnet_emu.migration.migrate import Agent
from cloudnet_emu.scenario import runner

BROADCAST = "ff:ff:ff:ff:ff:ff"


def _ovs_config() -> dict:
    """Ports of our bridges with their VLAN configuration and owner marks (what OVSDB keeps)."""
    out = subprocess.run(["ovs-vsctl", "--format=json", "--columns=name,tag,trunks,vlan_mode,external_ids",
                          "list", "Port"], capture_output=True, text=True, check=True).stdout
    rows = {r[0]: json.dumps(r[1:], sort_keys=True) for r in json.loads(out)["data"]}
    return {n: v for n, v in rows.items() if n.startswith("cn")}


@pytest.mark.vmtier
def test_vswitchd_restart_keeps_tenants_apart_and_forwarding_resumes(testbed, cli):
    tb = testbed["testbed"]
    # a port-security VPC: its VM's port has OpenFlow rules, which OVSDB does not keep
    vpcs.create(tb, {"name": "bravo-sec", "tenant": "bravo", "type": "l3vpn", "subnet": "10.1.101.0/24",
                     "sites": ["bravo-hq"], "port_security": True})
    cloud, _ = pipeline.managers()
    cloud.attach("bravo-sec", site="dc1", server="dc1-s1", name="s1")
    a1 = cloud.attach("acme-vpc", site="dc1", server="dc1-s1", name="a1")
    b1 = cloud.attach("bravo-vpc", site="dc1", server="dc1-s1", name="b1")
    b2 = cloud.attach("bravo-vpc", site="dc1", server="dc1-s2", name="b2")
    assert a1["vlan"] != b1["vlan"] == b2["vlan"]
    fail_modes = subprocess.run(["ovs-vsctl", "--format=json", "--columns=name,fail_mode,external_ids", "list",
                                 "Bridge"], capture_output=True, text=True).stdout
    ours = [r for r in json.loads(fail_modes)["data"] if r[0] in ovs.owned_bridges(tb)]
    assert ours and all(r[1] == "standalone" for r in ours)       # no controller: NORMAL with the port VLANs
    config = _ovs_config()
    flows = {br: _flows(br) for br in ovs.owned_bridges(tb)}
    assert sum(1 for f in flows["cnb-dc1-s1"] if "cookie=" in f) == 3       # s1's port-security rules
    ns = {n: naming.netns(tb, n) for n in ("a1", "b1", "b2")}
    # same tenant: UDP probes b1 -> b2 (echoed); cross tenant: b1 floods raw frames at a1 (broadcast and
    # a1's own MAC) and a1 counts every frame that carries the probe payload or b1's source MAC
    workload = Agent(ns["b2"], "workload", 9000, ready=True)
    victim = Stream(ns["a1"], "count", "eth0", 120)
    control = Stream(ns["b2"], "count", "eth0", 120)       # the positive control: the same flood reaches b2
    flood = Stream(ns["b1"], "send", "eth0", b1["mac"], f"{BROADCAST},{a1['mac']}", 400, 120)
    probe = Agent(ns["b1"], "probe", b2["ip"], 9000, 300, 120)
    try:
        time.sleep(1.5)
        old = vswitchd_pid()
        t_start = time.time()
        restart = restart_vswitchd()
        t_ready = time.time()
        time.sleep(3)
        sent = flood.result()
        probes = probe.result(stop=True)
        leaked = victim.result()["frames"]
        same = control.result()["frames"]
    finally:
        for p in (flood, victim, control):
            p.kill()
        probe.kill()
        workload.kill()
    assert restart["new_pid"] not in (None, old)
    assert leaked == [], f"{len(leaked)} of bravo's frames reached acme's VM across the restart"
    # the control saw the flood before and after the restart (half of the frames are broadcast)
    assert sum(1 for f in same if f[1] < t_start) > 100
    assert sum(1 for f in same if f[1] > t_ready) > 100, "same-tenant flooding did not resume"
    out = outage(probes, 0)
    assert out["probes_sent"] > 500 and out.get("recovered", True), out
    sent_at = {int(k): v for k, v in probes["sent"].items()}
    echoed = {int(k) for k in probes["echoed"]}
    lost = [k for k in sent_at if k not in echoed and t_start <= sent_at[k] <= t_ready + 1]   # not the stream's end
    back = [sent_at[k] for k in echoed if sent_at[k] > t_start and k > max(lost, default=-1)]
    assert back, "no same-tenant probe was echoed after the restart"
    print(f"\nrestart {restart}; cross-tenant frames sent {sent['sent']}, leaked {len(leaked)}; same-tenant "
          f"outage {out['outage_ms']} ms ({out['probes_lost']} of {out['probes_sent']} probes lost); forwarding "
          f"back {1000 * (min(back) - t_start):.0f} ms after the restart began")
    # OVSDB kept our ports, VLANs and owner marks; the bridges are ours and still found by tag
    assert _ovs_config() == config
    assert {br: _flows(br) for br in ovs.owned_bridges(tb)} == flows, "OpenFlow rules lost in the restart"
    # a real restart: another process, and the rules above were read from it, not from the old one
    assert restart["new_pid"] != restart["old_pid"] and vswitchd_pid() == restart["new_pid"]
    assert set(ovs.owned_bridges(tb)) == {r[0] for r in ours}
    # the managers still work on the restarted switch: a detach, then a new attach that pings its gateway
    cloud.detach("a1")
    vm = cloud.attach("acme-vpc", site="dc1", name="a3")
    res = subprocess.run(["ip", "netns", "exec", naming.netns(tb, "a3"), "ping", "-c2", "-W2", vm["gateway"]])
    assert res.returncode == 0


@pytest.mark.vmtier
def test_ovs_restart_scenario(clean_machine, tmp_path):
    report = runner.run("scenarios/ovs-restart.yaml", str(tmp_path))
    bad = [s for s in report["steps"] + report["checks"] if not s["ok"]]
    assert report["ok"], bad
    step = next(s for s in report["steps"] if s["action"] == "ovs")
    assert step["name"] == "ovs restart" and [p["name"] for p in step["phases"]] == ["stop", "start"]
    assert "ovs-vswitchd restarted" in step["detail"]
