"""Network resources on the running kernel: bandwidth reservations (HTB classes + u32 filters on
every hop, admission, change, release, following migrations), placement `nearest` and delay."""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from cloudnet_emu import naming, pipeline
from cloudnet_emu.errors import AdmissionError, StateError
from cloudnet_emu.kernel import ns
from cloudnet_emu.realize import shaping
from cloudnet_emu.scenario import runner, sending
from cloudnet_emu.scenario.qos import LatencyCheck, latency
from cloudnet_emu.verdict import Status
from tests.conftest import FULL_KERNEL


def _classes(testbed: str, node: str, dev: str) -> dict[str, dict]:
    """classid -> {"rate": Mbit/s, "bytes": sent} (`tc -s class show`; its -j omits HTB here)."""
    out = subprocess.run(["tc", "-n", naming.netns(testbed, node), "-s", "class", "show", "dev", dev],
                         capture_output=True, text=True, check=True).stdout
    classes = {}
    for block in out.split("class htb ")[1:]:
        rate = re.search(r" rate (\d+(?:\.\d+)?)([KMG]?)bit", block)
        scale = {"": 1e-6, "K": 1e-3, "M": 1.0, "G": 1e3}[rate.group(2)]
        classes[block.split()[0]] = {"rate": float(rate.group(1)) * scale,
                                     "bytes": int(re.search(r"Sent (\d+) bytes", block).group(1))}
    return classes


def _filters(testbed: str, node: str, dev: str) -> str:
    return subprocess.run(["tc", "-n", naming.netns(testbed, node), "filter", "show", "dev", dev],
                          capture_output=True, text=True, check=True).stdout


def _traffic(testbed: str, src: str, dst_ip: str, count: int = 60):
    subprocess.run(["ip", "netns", "exec", naming.netns(testbed, src), "ping", "-n", "-q", "-c", str(count),
                    "-i", "0.01", "-s", "1200", "-W", "2", dst_ip], capture_output=True, text=True, check=True)


@pytest.mark.vmtier
def test_pipe_is_classified_on_every_hop_then_released(testbed):
    """The reservation's class takes the pipe's real packets on every shaped hop, both ways:
    plain IP on the attachment circuits, VXLAN or MPLS (whichever the core is) in the core."""
    tb = testbed["testbed"]
    cloud, _ = pipeline.managers(tb)
    b1 = cloud.attach("bravo-vpc", site="dc1", name="b1")
    h1 = testbed["info"]["sites"]["bravo-hq"]["hosts"]["bravo-h1"]
    meta = cloud.reserve("db", "bravo-vpc", between=["b1", "bravo-h1"], bw=60)
    hops = {h["direction"]: h for h in meta["hops"]}
    assert set(hops) == {"bravo-hq>pe1", "pe1>p1", "p1>pe3", "pe3>p1", "p1>pe1", "pe1>bravo-hq"}
    core = testbed["realizations"]["core"]
    assert {h["encap"] for d, h in hops.items() if "bravo-hq" not in d} == {core}
    before = {d: _classes(tb, h["node"], h["dev"])[meta["classid"]]["bytes"] for d, h in hops.items()}
    _traffic(tb, "b1", h1)
    _traffic(tb, "bravo-h1", b1["ip"])
    for d, h in hops.items():
        classes = _classes(tb, h["node"], h["dev"])
        mine = classes[meta["classid"]]
        assert mine["bytes"] - before[d] > 60 * 1200, f"{d}: the reserved class saw no pipe traffic"
        assert abs(mine["rate"] - 60) < 1
        assert abs(classes["1:2"]["rate"] - (h["capacity"] - 60)) < 1, f"{d}: best effort keeps the rest"
        assert ("mpls_uc" if h["encap"] == "mpls" else "protocol ip") in _filters(tb, h["node"], h["dev"])
    # traffic outside the pipe (another VM, same hops) stays best effort
    b2 = cloud.attach("bravo-vpc", site="dc1", name="b2")
    mid = _classes(tb, "p1", "pe1")[meta["classid"]]["bytes"]
    _traffic(tb, "b2", h1)
    assert _classes(tb, "p1", "pe1")[meta["classid"]]["bytes"] == mid
    assert b2["ip"]
    cloud.unreserve("db")
    for d, h in hops.items():
        classes = _classes(tb, h["node"], h["dev"])
        assert meta["classid"] not in classes, f"{d}: class left behind"
        assert abs(classes["1:2"]["rate"] - h["capacity"]) < 1, f"{d}: best effort has the whole link again"
        assert "u32" not in _filters(tb, h["node"], h["dev"])
    assert cloud.reservations() == []


@pytest.mark.vmtier
def test_admission_names_the_bottleneck_and_changes_nothing(testbed):
    tb = testbed["testbed"]
    cloud, _ = pipeline.managers(tb)
    cloud.attach("bravo-vpc", site="dc2", name="p", mem_mb=64)
    cloud.attach("bravo-vpc", site="dc2", name="q", mem_mb=64)
    cloud.reserve("db", "bravo-vpc", between=["p", "bravo-h1"], bw=70)
    before = _classes(tb, "bravo-hq", "pe1")
    with pytest.raises(AdmissionError, match=r"link pe1 -> bravo-hq has 30 Mbit/s free of 100, needs 40"):
        cloud.reserve("bulk", "bravo-vpc", between=["q", "bravo-h2"], bw=40)
    after = _classes(tb, "bravo-hq", "pe1")
    assert after.keys() == before.keys()
    assert [r["name"] for r in cloud.reservations()] == ["db"]
    # a change is admitted as if the old reservation were gone
    cloud.reserve("db", "bravo-vpc", between=["p", "bravo-h1"], bw=100, change=True)
    with pytest.raises(AdmissionError):
        cloud.reserve("db", "bravo-vpc", between=["p", "bravo-h1"], bw=101, change=True)
    assert cloud.reservations()[0]["bw"] == 100
    # a hose on the site's attachment circuit counts against the same capacity
    cloud.reserve("db", "bravo-vpc", between=["p", "bravo-h1"], bw=50, change=True)
    hose = cloud.reserve("hq", "bravo-vpc", site="bravo-hq", ingress=50, egress=20)
    assert {h["direction"]: h["rate"] for h in hose["hops"]} == {   # the VPC's VMs are behind pe4
        "bravo-hq>pe1": 20, "pe1>p1": 20, "p1>pe4": 20, "pe4>p1": 50, "p1>pe1": 50, "pe1>bravo-hq": 50}
    cloud.attach("bravo-vpc", site="dc1", name="r", mem_mb=64)         # the VPC reaches pe3: so does the hose
    hq = next(r for r in cloud.reservations() if r["name"] == "hq")
    assert hq["cloud_pes"] == ["pe3", "pe4"] and {"p1>pe3", "pe3>p1"} <= {h["direction"] for h in hq["hops"]}
    before = _classes(tb, "p1", "pe3")[hq["classid"]]["bytes"]
    _traffic(tb, "bravo-h2", cloud.data["vms"]["r"]["ip"])
    assert _classes(tb, "p1", "pe3")[hq["classid"]]["bytes"] - before > 60 * 1200, "hose traffic in its core class"
    cloud.detach("r")
    hq = next(r for r in cloud.reservations() if r["name"] == "hq")
    assert hq["cloud_pes"] == ["pe4"] and "p1>pe3" not in {h["direction"] for h in hq["hops"]}
    with pytest.raises(AdmissionError, match="pe1 -> bravo-hq has 0 Mbit/s free"):
        cloud.reserve("more", "bravo-vpc", site="bravo-hq", ingress=1)
    cloud.reserve("db", bw=40, change=True)            # a change names only what changes
    assert cloud.reservations()[0]["ends"][1]["name"] == "bravo-h1"
    with pytest.raises(StateError, match="both in bravo-hq: their traffic stays on its LAN"):
        cloud.reserve("lan", "bravo-vpc", between=["bravo-h1", "bravo-h2"], bw=1)
    assert cloud.detach("p")["released"] == ["db"]    # a pipe to a VM that is gone goes with it
    assert [r["name"] for r in cloud.reservations()] == ["hq"]


def test_a_pipe_inside_a_hose_gets_its_own_class(testbed):
    """u32 takes the first filter that matches: the more specific pipe must come before the hose."""
    tb = testbed["testbed"]
    cloud, _ = pipeline.managers(tb)
    vm = cloud.attach("bravo-vpc", site="dc1", name="p", mem_mb=16)
    hose = cloud.reserve("hq", "bravo-vpc", site="bravo-hq", ingress=30, egress=30)   # first: a lower slot
    pipe = cloud.reserve("db", "bravo-vpc", between=["p", "bravo-h1"], bw=20)
    before = _classes(tb, "bravo-hq", "pe1")
    _traffic(tb, "bravo-h1", vm["ip"])
    after = _classes(tb, "bravo-hq", "pe1")
    assert after[pipe["classid"]]["bytes"] - before[pipe["classid"]]["bytes"] > 60 * 1200
    assert after[hose["classid"]]["bytes"] == before[hose["classid"]]["bytes"]
    _traffic(tb, "bravo-h2", vm["ip"])           # the rest of the site's traffic to the VPC: the hose
    assert _classes(tb, "bravo-hq", "pe1")[hose["classid"]]["bytes"] - after[hose["classid"]]["bytes"] > 60 * 1200


def test_refused_migration_leaves_vm_and_reservations_where_they_were(testbed):
    tb = testbed["testbed"]
    cloud, _ = pipeline.managers(tb)
    for name, site in (("v1", "dc1"), ("v2", "dc2"), ("v3", "dc2"), ("v4", "dc2")):
        cloud.attach("bravo-vpc", site=site, name=name, mem_mb=16)
    cloud.reserve("wide", "bravo-vpc", between=["v1", "v2"], bw=400)          # pe3 -> pe4 (500)
    local = cloud.reserve("local", "bravo-vpc", between=["v3", "v4"], bw=200)  # same PE: no shaped hop
    assert local["hops"] == []
    with pytest.raises(AdmissionError, match="pe3 -> pe4 has 100 Mbit/s free of 500, needs 200"):
        cloud.migrate("v3", "dc1")
    cloud, _ = pipeline.managers(tb)
    assert cloud.data["vms"]["v3"]["site"] == "dc2"
    port = subprocess.run(["ovs-vsctl", "port-to-br", naming.vm_port("v3")], capture_output=True, text=True)
    assert port.stdout.strip() == naming.bridge("dc2-s1")
    assert next(r for r in cloud.reservations() if r["name"] == "local")["hops"] == []
    # two reservations of one VM move together: each would fit alone, both do not
    cloud.reserve("wide", bw=250, change=True)
    cloud.reserve("local2", "bravo-vpc", between=["v3", "v4"], bw=100)
    with pytest.raises(AdmissionError, match="reservations local, local2: link pe3 -> pe4 has 250"):
        cloud.migrate("v3", "dc1")
    cloud, _ = pipeline.managers(tb)
    assert cloud.data["vms"]["v3"]["site"] == "dc2"
    cloud.unreserve("local2")
    cloud.unreserve("wide")
    moved = cloud.migrate("v3", "dc1", pause_ms=10)
    assert moved["reservations"] == ["local"]
    after = next(r for r in cloud.reservations() if r["name"] == "local")
    assert {h["direction"] for h in after["hops"]} == {"pe3>pe4", "pe4>pe3"}
    # within a site (another server): the logical CE, endpoint and host routes stay; so does the pipe
    cloud, _ = pipeline.managers(tb)
    moved = cloud.migrate("v3", "dc1", "dc1-s2", pause_ms=10)
    assert moved["to"] == "dc1/dc1-s2" and moved["reservations"] == ["local"]
    w = runner.World(tb)
    assert all(sending.reach_all(w, [("v3", "bravo-h1"), ("v3", "v4")]).values())


@pytest.mark.vmtier
def test_nearest_placement_and_latency_intact_then_sabotaged(testbed):
    """Placement `nearest` by declared delay; the latency check on the intact path (VM tier: netem
    realizes the delays, green; natively: degraded away, not checked), then on the full kernel the
    sabotage: p1's netem toward pe4 (3 ms) set to 20 ms behind the record's back turns it red."""
    tb = testbed["testbed"]
    cloud, _ = pipeline.managers(tb)
    assert cloud.wan_delay("bravo-vpc", "dc1", "bravo-hq") == 8.0    # 1 (access) + 2 (pe1-p1) + 5 (p1-pe3)
    assert cloud.wan_delay("bravo-vpc", "dc2", "bravo-hq") == 6.0    # 1 + 2 + 3 (p1-pe4)
    vm = cloud.attach("bravo-vpc", name="near", policy="nearest", near="bravo-hq", mem_mb=16)
    assert vm["site"] == "dc2"
    far = cloud.attach("bravo-vpc", name="far", policy="first-fit", mem_mb=16)
    assert far["site"] == "dc1"
    w = runner.World(tb)
    # software emulation (the VM tier) adds its own processing time to every hop: min RTT 15.1 ms
    # was seen there against the 12 ms netem realizes, so the check gets 5 ms of tolerance there
    check = LatencyCheck(**{"from": "bravo-h1", "to": "near", "tolerance_ms": 5.0 if FULL_KERNEL else 3.0})
    status, detail = latency(w, check)
    if not FULL_KERNEL:  # the delays were degraded away: "0 ms +/- 3" would pass without evidence
        assert status is Status.NOT_CHECKED, detail
        assert detail.startswith("delay degraded on this path: link ") and "no netem" in detail, detail
        return
    # netem realizes the declared delays: RTT about 2 x 6 ms
    assert status is Status.PASS and "expected 12.00 ms" in detail, detail
    p1 = naming.netns(tb, "p1")
    assert _netem_delay_ms(p1, "pe4") == 3.0        # what the record says p1--pe4 realizes
    ns.run(["tc", "qdisc", "change", "dev", "pe4", "parent", shaping.BEST_EFFORT, "handle", "10:", "netem", "delay",
            "20ms", "limit", "10000"], netns=p1)
    assert _netem_delay_ms(p1, "pe4") == 20.0
    status, detail = latency(w, check)
    print(f"\nlatency with p1's netem toward pe4 at 20 ms: {status}: {detail}")
    assert status is Status.FAIL, detail
    rtt_min = float(re.match(r"RTT min (\d+\.\d+) ms", detail).group(1))
    assert rtt_min >= 12 + 17 and "expected 12.00 ms +/- 5 (path one-way 6 ms)" in detail, detail


def _netem_delay_ms(netns: str, dev: str) -> float:
    """The delay of the netem qdisc on DEV (tc's JSON gives it in seconds)."""
    out = subprocess.run(["tc", "-n", netns, "-j", "qdisc", "show", "dev", dev], capture_output=True, text=True,
                         check=True).stdout
    netem = [q for q in json.loads(out) if q["kind"] == "netem"]
    assert len(netem) == 1, out
    return round(netem[0]["options"]["delay"]["delay"] * 1000, 3)


def test_qos_scenario_passes(clean_machine, tmp_path):
    """The accounting application: nearest placement, a reservation under a competing bulk flow,
    admission, change, a migration the reservation follows (measured with iperf3)."""
    report = runner.run("scenarios/qos.yaml", str(tmp_path))
    bad = [s for s in report["steps"] + report["checks"] if s["ok"] is False]
    assert report["ok"], bad
    if not FULL_KERNEL:  # the latency checks are not checked (delay degraded), counted apart from passes
        assert report["counts"]["not checked"] == 2, report["counts"]


def test_reserve_cli(testbed, cli):
    cloud, _ = pipeline.managers(testbed["testbed"])
    cloud.attach("bravo-vpc", site="dc1", name="web", mem_mb=16)

    def run(*argv):
        return subprocess.run([cli, "reserve", *argv], capture_output=True, text=True)

    res = run("create", "db", "--vpc", "bravo-vpc", "--between", "web", "bravo-h1", "--bw", "60")
    assert res.returncode == 0 and "pipe web <-> bravo-h1, 60 Mbit/s each way" in res.stdout, res.stderr
    res = run("create", "hq", "--vpc", "bravo-vpc", "--site", "bravo-hq", "--ingress", "30", "--egress", "10")
    assert res.returncode == 0, res.stderr
    res = run("create", "more", "--vpc", "bravo-vpc", "--site", "bravo-hq", "--ingress", "20")
    assert res.returncode == 1 and "link pe1 -> bravo-hq has 10 Mbit/s free of 100, needs 20" in res.stderr
    assert "hint:" in res.stderr and "Traceback" not in res.stderr
    res = run("change", "db", "--bw", "50")
    assert res.returncode == 0 and "50 Mbit/s" in res.stdout, res.stderr
    book = json.loads(run("list", "--json").stdout)
    assert {r["name"]: r.get("bw", r.get("ingress")) for r in book["reservations"]} == {"db": 50, "hq": 30}
    assert book["used"]["pe1>bravo-hq"] == 80
    assert "db" in run("list").stdout
    res = run("release", "nosuch")
    assert res.returncode != 0 and "no reservation 'nosuch'; reservations: db, hq" in res.stderr
    for name in ("db", "hq"):
        assert run("release", name).returncode == 0
    assert json.loads(run("list", "--json").stdout)["reservations"] == []
