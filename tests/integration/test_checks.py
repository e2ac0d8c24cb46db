"""`cloudnet-emu check` verdicts against a world broken on purpose: each turns red for the right reason.

Every test gets its own Figure 1 (`testbed`: fresh, torn down after, clean-machine guard), breaks
it with real kernel state, and asserts the verdict that exists to catch that break fails or
errors, with the reason it prints; the intact world beside it is green (test_testbed.py).
Native realization only (netns VRFs): the sabotage cables VRF namespaces together.
"""
from __future__ import annotations

import pytest

from cloudnet_emu import checks, isolation, naming
from cloudnet_emu.errors import RealizeError
from cloudnet_emu.kernel import ns, sniff
from cloudnet_emu.verdict import Status

REAL_CONTROL = sniff.control_frame


def _ns(record, node):
    return naming.netns(record["testbed"], node)


def _ip(record, node, *argv):
    ns.run(["ip", *argv], netns=_ns(record, node))


def _native(record):
    if record["realizations"]["router"] != "netns":
        pytest.skip("the sabotage cables VRF namespaces together (netns realization)")


def _by_name(results):
    return {r.name: r for r in results}


def test_a_one_way_leak_between_tenants_is_caught_where_it_lands(testbed):
    """A cable from acme's VRF on pe1 into bravo's, and a /32 of bravo's toward it: acme-h1's
    packets to 10.1.2.3 (bravo-h4) land in bravo, whose reply goes to bravo's own 10.1.1.2.
    acme-h1 never sees a reply: judged by reply this stays green; judged at the watchers it is a leak."""
    _native(testbed)
    acme, bravo = _ns(testbed, "pe1.acme"), _ns(testbed, "pe1.bravo")
    ns.run(["ip", "link", "add", "leak0", "type", "veth", "peer", "name", "leak1", "netns", bravo], netns=acme)
    _ip(testbed, "pe1.acme", "addr", "add", "192.0.2.1/30", "dev", "leak0")
    _ip(testbed, "pe1.acme", "link", "set", "leak0", "up")
    _ip(testbed, "pe1.bravo", "addr", "add", "192.0.2.2/30", "dev", "leak1")
    _ip(testbed, "pe1.bravo", "link", "set", "leak1", "up")
    ns.sysctl(bravo, "net/ipv4/conf/leak1/rp_filter", 0)
    ns.sysctl(bravo, "net/ipv4/conf/all/rp_filter", 0)
    _ip(testbed, "pe1.acme", "route", "add", "10.1.2.3/32", "via", "192.0.2.2")

    results = checks.reachability(testbed["testbed"], testbed["info"])
    leak = _by_name(results)["acme-h1 -> bravo-h4 (10.1.2.3, tenant bravo)"]
    assert leak.status is Status.FAIL, leak
    assert leak.reason.startswith("LEAK:") and "bravo-h4 saw" in leak.reason, leak.reason
    # the reply never came back to the sender: the old "no reply" verdict would have passed
    assert leak.sent[0].count == 2
    # the rest of acme's isolation, not on the leaked route, is still green
    assert _by_name(results)["acme-h1 -> bravo-h1 (10.1.1.2, tenant bravo): stays in acme"].passed


def test_a_dead_internet_node_proves_nothing(testbed):
    """inet's uplink down: its probes go nowhere.  Its isolation verdicts are errors, not passes."""
    _ip(testbed, "inet", "link", "set", "pe1", "down")
    results = [r for r in checks.reachability(testbed["testbed"], testbed["info"]) if r.name.startswith("inet ->")]
    control = [r for r in results if r.kind == "reach"]
    assert len(control) == 1 and control[0].status is Status.ERROR, control   # its ping cannot even send
    probes = [r for r in results if r.kind == "isolated"]
    assert len(probes) == 7
    assert all(r.status is Status.ERROR for r in probes), probes
    assert all("could not send" in r.reason or "reached nothing" in r.reason for r in probes), probes


def test_a_sender_that_cannot_send_and_a_blind_watcher_are_errors(testbed):
    tb = testbed["testbed"]
    live = [w for w in isolation.watchers(tb) if w.tenant == "bravo"]
    got = isolation.run(tb, [isolation.Probe("no-such-vm", "10.1.1.2", "acme")], live)
    assert got[0].status is Status.ERROR and "could not send: no-such-vm" in got[0].reason, got
    # a watcher whose tcpdump cannot start (its namespace does not exist) makes the verdict an error
    blind = live + [isolation.Watcher("ghost", "bravo")]
    got = isolation.run(tb, [isolation.Probe("acme-h1", "10.1.2.3", "acme")], blind)
    assert got[0].status is Status.ERROR and "ghost (sniffer dead" in got[0].reason, got


@pytest.mark.control("static")     # under bgp zebra would put the deleted route back
def test_reach_fails_without_a_route_and_errors_when_ping_cannot_run(testbed):
    tb = testbed["testbed"]
    _ip(testbed, "pe2.acme", "route", "del", "10.1.1.0/24")
    results = _by_name(checks.reachability(tb, testbed["info"]))
    cut = results["acme-h3 -> acme-h1 (10.1.1.2)"]
    assert cut.status is Status.FAIL and cut.reason == "no reply", cut
    with pytest.raises(RealizeError) as exc:
        checks.pings(tb, [("acme-h1", "not-an-address")])
    assert "not-an-address" in str(exc.value)


def test_encapsulation_in_the_wrong_vni_or_by_a_blind_capture_is_red(testbed, monkeypatch):
    """The check expects each tenant's own VNI on the core: a record that names another VNI for
    acme sees acme's real traffic in 10000 and says so.  A capture blind to its control is an error."""
    info = dict(testbed["info"], vpn={t: dict(m) for t, m in testbed["info"]["vpn"].items()})
    if testbed["realizations"]["core"] != "vxlan":
        pytest.skip("VXLAN core only")
    info["vpn"]["acme"]["vni"] = 12345
    results = checks.core_encapsulation(testbed["testbed"], info, testbed["realizations"])
    by_tenant = {r.name.rsplit("(tenant ", 1)[1].rstrip(")"): r for r in results}
    assert by_tenant["acme"].status is Status.FAIL and "not as VXLAN with VNI 12345" in by_tenant["acme"].reason
    assert by_tenant["bravo"].passed, by_tenant["bravo"]
    assert [(w.control, w.seen > 0) for w in by_tenant["bravo"].watched] == [(1, True)]
    # each capture sends its own control frame through its filter: a capture that does not see it
    # (here the control is VLAN-tagged, which `udp port 4789` cannot match) is an error, although the
    # tenants' real traffic crossed the link and was captured
    monkeypatch.setattr(sniff, "control_frame", lambda encap, vlan=None: REAL_CONTROL("vlan", 999))
    results = checks.core_encapsulation(testbed["testbed"], testbed["info"], testbed["realizations"])
    assert len(results) == 2 and all(r.status is Status.ERROR for r in results), results
    assert all("capture blind: p1:pe" in r.reason and "did not see its own control frame" in r.reason
               for r in results), results
    assert all(w.control == 0 and w.seen > 0 for r in results for w in r.watched), results
