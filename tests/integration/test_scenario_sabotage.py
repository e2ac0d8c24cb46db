"""Sabotage: every scenario check kind turns red when the world is broken the way it exists to catch,
and green on the intact world.  Checks run through the runner's own run_check / run_step on a real
Figure 1 testbed (no mocks); each sabotage is undone and the check is green again."""
from __future__ import annotations

import pytest

from cloudnet_emu import naming
from cloudnet_emu.kernel import ns, sniff
from cloudnet_emu.scenario import runner
from cloudnet_emu.scenario.model import Check, Step

pytestmark = pytest.mark.control("static")     # deleted routes that zebra would put back under bgp


real_control = sniff.control_frame


def check(w, **spec):
    r = runner.run_check(w, Check.model_validate(spec))
    return r["status"], r["detail"]


def step(w, **spec):
    return runner.run_step(w, Step.model_validate(spec))


def _ip(tb, node, *argv):
    return ns.run(["ip", "-n", naming.netns(tb, node), *argv])


def test_sabotage_reach_route_encap_fdb_isolated_flow(testbed):
    tb = testbed["testbed"]
    w = runner.World(tb)
    for name, site in (("b1", "dc1"), ("b2", "dc2"), ("a1", "dc1")):
        assert step(w, attach={"vpc": "bravo-vpc" if name[0] == "b" else "acme-vpc", "site": site,
                               "name": name})["status"] == "pass"
    w.refresh()

    # reach + route: bravo-h1's default route deleted (the echo arrives, the reply cannot leave)
    reach = {"reach": {"from": "b1", "to": "bravo-h1"}}
    route = {"route": {"node": "bravo-h1", "dst": "default"}}
    blind = {"encap": {"link": "root:cnt-dc2-s1", "vlan": 100, "from": "b1", "to": "bravo-h1"}}
    assert check(w, **reach)[0] == "pass"
    assert check(w, **route)[0] == "pass"
    assert check(w, encap={"link": "root:cnt-dc1-s1", "vlan": 100, "from": "b1", "to": "bravo-h1"})[0] == "pass"
    default = _ip(tb, "bravo-h1", "route", "show", "default").stdout.split()
    _ip(tb, "bravo-h1", "route", "del", "default")
    try:
        status, detail = check(w, **reach)
        assert status == "fail" and "b1->bravo-h1 no reply" in detail, detail
        status, detail = check(w, **route)
        assert status == "fail" and detail == "no route to default on bravo-h1", detail
        # a link the traffic does not cross, and the traffic unanswered: nothing captured is an error
        status, detail = check(w, **blind)
        assert status == "error" and "nothing captured (is the link carrying traffic?)" in detail, detail
    finally:
        _ip(tb, "bravo-h1", "route", "add", *default)
    assert check(w, **reach)[0] == "pass" and check(w, **route)[0] == "pass"
    # a sender that cannot send at all (no route of its own): an error, not "no reply"
    b1_default = _ip(tb, "b1", "route", "show", "default").stdout.split()
    _ip(tb, "b1", "route", "del", "default")
    try:
        r = runner.run_check(w, Check.model_validate({"expect": "fail", **reach}))
        assert (r["status"], r["ok"]) == ("error", False) and "Network is unreachable" in r["detail"], r
    finally:
        _ip(tb, "b1", "route", "add", *b1_default)

    # a sender / node without a namespace: error, never a verdict (and never ok under expect: fail)
    r = runner.run_check(w, Check.model_validate({"expect": "fail", "reach": {"from": "ghost", "to": "bravo-h1"}}))
    assert (r["status"], r["ok"]) == ("error", False) and "no namespace for ghost" in r["detail"], r
    status, detail = check(w, route={"node": "ghost", "dst": "default"})
    assert status == "error" and "no namespace for ghost" in detail, detail

    # encap: the wrong VLAN / a link the traffic does not cross (traffic proven) -> fail; the wrong VNI -> fail
    status, detail = check(w, encap={"link": "root:cnt-dc1-s1", "vlan": 999, "from": "b1", "to": "bravo-h1"})
    assert status == "fail" and "though b1 -> bravo-h1 got replies" in detail, detail
    status, detail = check(w, encap={"link": "root:cnt-dc2-s1", "vlan": 100, "from": "b1", "to": "bravo-h1"})
    assert status == "fail" and "nothing matching `vlan 100` on root:cnt-dc2-s1" in detail, detail
    if w.record["realizations"]["core"] == "vxlan":
        right = {"link": "p1:pe1", "vpn": "bravo", "from": "b1", "to": "bravo-h1"}
        assert check(w, encap=right)[0] == "pass"
        status, detail = check(w, encap={"link": "p1:pe1", "vni": 20000, "from": "b1", "to": "bravo-h1"})
        assert status == "fail" and "vni 20000 " not in detail and "vni" in detail, detail
    # a capture blind to its own control frame (VLAN 999 under `vlan 100`) proves nothing, even with
    # the traffic under test on the link
    tagged = {"encap": {"link": "root:cnt-dc1-s1", "vlan": 100, "from": "b1", "to": "bravo-h1"}}
    r = runner.run_check(w, Check.model_validate(tagged))
    assert r["status"] == "pass" and r["evidence"]["watched"][0]["control"] == 1, r
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sniff, "control_frame", lambda encap, vlan=None: real_control("vlan", 999))
        r = runner.run_check(w, Check.model_validate(tagged))
    assert r["status"] == "error" and "capture blind: root:cnt-dc1-s1 did not see its own control frame" \
        in r["detail"], r
    assert r["evidence"]["watched"][0]["control"] == 0 and r["evidence"]["watched"][0]["seen"] > 0, r

    # fdb: a MAC the switch has not learned (b2 lives in dc2, routed) -> fail "not in the FDB";
    # the wrong port -> fail naming the port expected
    assert check(w, fdb={"bridge": "dc1", "mac": "b1", "port": "server:dc1-s1"})[0] == "pass" or \
        check(w, fdb={"bridge": "dc1", "mac": "b1", "port": "server:dc1-s2"})[0] == "pass"
    status, detail = check(w, fdb={"bridge": "dc1", "mac": "b2"})
    assert status == "fail" and "not in the FDB of dc1" in detail, detail
    where = check(w, fdb={"bridge": "dc1", "mac": "b1"})[1]
    wrong = "server:dc1-s2" if "cnt-dc1-s1" in where else "server:dc1-s1"
    status, detail = check(w, fdb={"bridge": "dc1", "mac": "b1", "port": wrong})
    assert status == "fail" and "(expected " in detail, detail
    status, detail = check(w, fdb={"bridge": "cnb-nosuch", "mac": "b1"})
    assert status == "error" and "cannot read the FDB" in detail, detail

    # isolated: judged at the watchers; a veth cable between the tenants' CEs plus a route is a one-way leak
    iso = {"isolated": {"from": "b1", "to": "a1"}}
    status, detail = check(w, **iso)
    assert status == "pass", detail
    a1 = w.address("a1")
    bravo_ce, acme_ce = naming.netns(tb, "bravo-hq"), naming.netns(tb, "acme-hq")
    ns.run(["ip", "link", "add", "sab0", "netns", bravo_ce, "type", "veth", "peer", "name", "sab1",
            "netns", acme_ce])
    try:
        ns.run(["ip", "-n", bravo_ce, "addr", "add", "192.0.2.1/30", "dev", "sab0"])
        ns.run(["ip", "-n", acme_ce, "addr", "add", "192.0.2.2/30", "dev", "sab1"])
        ns.run(["ip", "-n", bravo_ce, "link", "set", "sab0", "up"])
        ns.run(["ip", "-n", acme_ce, "link", "set", "sab1", "up"])
        for key in ("all", "sab1", "default"):
            ns.run(["sysctl", "-qw", f"net.ipv4.conf.{key}.rp_filter=0"], netns=acme_ce)
        ns.run(["ip", "-n", bravo_ce, "route", "add", f"{a1}/32", "via", "192.0.2.2"])
        status, detail = check(w, **iso)
        assert status == "fail" and "LEAK" in detail, detail
    finally:
        ns.run(["ip", "-n", bravo_ce, "link", "del", "sab0"], check=False)
    assert check(w, **iso)[0] == "pass"


def test_sabotage_flow_deny_rule_deleted(testbed):
    tb = testbed["testbed"]
    w = runner.World(tb)
    for name, site in (("proc", "dc1"), ("db", "dc2"), ("web", "dc1")):
        assert step(w, attach={"vpc": "bravo-vpc", "site": site, "name": name})["status"] == "pass"
    rules = [{"name": "db-proc", "from": "proc", "to": "db", "proto": "tcp", "port": 5432, "action": "allow"},
             {"name": "db-others", "from": "any", "to": "db", "proto": "tcp", "port": 5432, "action": "deny"}]
    assert step(w, acl={"vpc": "bravo-vpc", "default": "allow", "rules": rules})["status"] == "pass"
    denied = {"expect": "fail", "flow": {"from": "web", "to": "db", "proto": "tcp", "port": 5432}}
    allowed = {"flow": {"from": "proc", "to": "db", "proto": "tcp", "port": 5432}}
    r = runner.run_check(w, Check.model_validate(allowed))
    assert r["status"] == "pass" and "bravo-vpc/db-proc" in r["evidence"]["counters"], r
    r = runner.run_check(w, Check.model_validate(denied))
    assert (r["status"], r["ok"]) == ("fail", True) and "dropped by bravo-vpc/db-others" in r["detail"], r
    # sabotage: the deny rule is gone; the flow completes and the negative control turns red
    assert step(w, acl={"vpc": "bravo-vpc", "default": "allow", "rules": rules[:1]})["status"] == "pass"
    r = runner.run_check(w, Check.model_validate(denied))
    assert (r["status"], r["ok"]) == ("pass", False) and "completed" in r["detail"], r
    # a sender without a namespace: error
    r = runner.run_check(w, Check.model_validate({"flow": {"from": "ghost", "to": "db", "proto": "tcp"}}))
    assert r["status"] == "error" and "a probe could not be made" in r["detail"], r
    # the refusals a step expects: the right one is ok, another one is red and says which it was
    big = {"attach": {"vpc": "bravo-vpc", "site": "dc1", "vcpus": 64}}
    assert step(w, expect={"fail": "placement"}, **big)["ok"] is True
    r = step(w, expect={"fail": "admission"}, **big)
    assert r["ok"] is False and "expected a admission refusal, got PlacementError" in r["detail"], r
    r = step(w, expect={"fail": "placement"}, detach={"vm": "nosuch"})
    assert r["ok"] is False and "got StateError" in r["detail"], r
    r = step(w, expect={"fail": "state"}, detach={"vm": "nosuch"})
    assert r["ok"] is True, r


def test_sabotage_garp_and_tcp(testbed):
    tb = testbed["testbed"]
    w = runner.World(tb)
    assert step(w, attach={"vpc": "acme-vpc", "site": "dc1", "server": "dc1-s1", "name": "stay"})["status"] == "pass"
    assert step(w, attach={"vpc": "acme-vpc", "site": "dc1", "name": "m1", "mem_mb": 512})["status"] == "pass"
    # intact: with GARP, sniffed at dc2, a TCP connection held
    r = step(w, migrate={"vm": "m1", "to": "dc2", "sniff": ["dc2"], "tcp": "acme-h2"})
    assert r["status"] == "pass", r
    assert check(w, garp={"vm": "m1", "at": "dc2"})[0] == "pass"
    assert check(w, tcp={"vm": "m1"})[0] == "pass"
    status, detail = check(w, garp={"vm": "m1", "at": "dc1"})
    assert status == "error" and "no sniffer listened at dc1" in detail, detail
    # sabotage: back without GARP -> the garp check fails
    r = step(w, migrate={"vm": "m1", "to": "dc1", "garp": False, "sniff": ["dc1"]})
    assert r["status"] == "pass", r["detail"]
    status, detail = check(w, garp={"vm": "m1", "at": "dc1"})
    assert status == "fail" and detail.startswith("0 gratuitous ARP(s) from m1 seen at dc1"), detail
    w.migrations.pop("m1")
    status, detail = check(w, tcp={"vm": "m1"})
    assert status == "error" and "no TCP connection was held" in detail, detail


def test_sabotage_tcp_a_switchover_longer_than_the_connection_waits(testbed):
    """A held TCP connection whose peer waits 10 s for an echo (migration/agent.py): a move that
    pauses the VM for 12 s breaks it, and the tcp check turns red; the same move with a 50 ms pause
    keeps it."""
    tb = testbed["testbed"]
    w = runner.World(tb)
    assert step(w, attach={"vpc": "acme-vpc", "site": "dc1", "server": "dc1-s1", "name": "stay"})["status"] == "pass"
    assert step(w, attach={"vpc": "acme-vpc", "site": "dc1", "name": "m1", "mem_mb": 256})["status"] == "pass"
    r = step(w, migrate={"vm": "m1", "to": "dc2", "tcp": "acme-h2"})
    assert r["status"] == "pass", r
    assert check(w, tcp={"vm": "m1"})[0] == "pass"
    r = step(w, migrate={"vm": "m1", "to": "dc1", "pause_ms": 12000, "tcp": "acme-h2"})
    assert r["status"] == "pass", r["detail"]
    status, detail = check(w, tcp={"vm": "m1"})
    assert status == "fail" and "error timed out" in detail, detail


def test_sabotage_throughput_reservation_unclassified(testbed):
    """A 60 Mbit/s pipe b1 <-> bravo-h1 against a best-effort bulk flow on bravo-hq's 100 Mbit/s
    circuit: green.  Its u32 filters deleted on the hop into bravo-hq (the bottleneck), the pipe's
    packets fall into best effort and share it with the bulk flow; best effort is held to what the
    reservation leaves (40 Mbit/s, no borrowing) because two TCP flows in one FIFO split a borrowed
    100 Mbit/s however they like (83/17 has been seen), and the check turns red."""
    tb = testbed["testbed"]
    w = runner.World(tb)
    for name, site in (("b1", "dc1"), ("bulk", "dc2")):
        assert step(w, attach={"vpc": "bravo-vpc", "site": site, "name": name})["status"] == "pass"
    meta = w.cloud.reserve("db", "bravo-vpc", between=["b1", "bravo-h1"], bw=60)
    w.refresh()
    spec = {"throughput": {"from": "b1", "to": "bravo-h1", "reservation": "db", "seconds": 3,
                           "competing": {"from": "bulk", "to": "bravo-h2"}}}
    status, detail = check(w, **spec)
    assert status == "pass", detail
    hop = next(h for h in meta["hops"] if h["direction"].endswith(">bravo-hq"))
    netns = naming.netns(tb, hop["node"])
    ns.run(["tc", "filter", "del", "dev", hop["dev"]], netns=netns)
    ns.run(["tc", "class", "change", "dev", hop["dev"], "parent", "1:1", "classid", "1:2", "htb",
            "rate", "40mbit", "ceil", "40mbit"], netns=netns)
    status, detail = check(w, **spec)
    assert status == "fail" and "(needs 54.0)" in detail, detail
