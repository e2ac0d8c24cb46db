"""The live page's picture from a state record, without root: what is drawn, nested, counted."""
from __future__ import annotations

import pytest

from cloudnet_emu import naming
from cloudnet_emu.plan.build import build_plan
from cloudnet_emu.plan.choose import choose
from cloudnet_emu.spec.load import load_topology
from cloudnet_emu.web.model import counted, elements, routing
from tests.unit.plan.test_plan import REDUCED


@pytest.fixture(scope="module")
def record():
    """The record `up` writes for Figure 1 (lifecycle.py), from the plan of a reduced kernel."""
    topo = load_topology("topologies/cloudnet.yaml")
    plan = build_plan(topo, choose(topo, REDUCED, degrade=True))
    return {"testbed": plan.testbed, "status": "up", "realizations": plan.realizations,
            "degradations": plan.degradations, "info": plan.info,
            "nodes": [{"name": n.name, "kind": n.kind, "netns": naming.netns(plan.testbed, n.name), "site": n.site,
                       "tenant": n.tenant, "loopback": n.loopback} for n in plan.nodes]}


VM = {"name": "web", "vpc": "bravo-vpc", "tenant": "bravo", "type": "l3vpn", "site": "dc1", "server": "dc1-s1",
      "ip": "10.1.100.2", "mac": "02:00:00:00:00:02", "vlan": 100, "port": "cnv-web"}


def _by_id(elems):
    return {e["data"]["id"]: e["data"] for e in elems["nodes"] + elems["edges"]}


def test_figure1_has_provider_sites_clouds_and_internet(record):
    ids = _by_id(elements(record, []))
    assert {"pe1", "pe2", "pe3", "pe4", "p1", "inet"} <= set(ids)
    assert ids["acme-h1"]["parent"] == "site:acme-hq" and ids["acme-hq"]["parent"] == "site:acme-hq"
    assert ids["site:acme-hq"]["tenant"] == "acme"
    assert ids["server:dc1-s1"]["parent"] == "cloud:dc1" and ids["cnb-dc1"]["parent"] == "cloud:dc1"
    assert ids["dc1"]["parent"] == "cloud:dc1"
    assert {"link:pe1--p1", "link:pe3--pe4", "link:inet--pe1", "link:acme-hq--pe1.acme", "link:dc1--pe3"} <= set(ids)
    for e in elements(record, [])["edges"]:
        assert e["data"]["source"] in ids and e["data"]["target"] in ids, e


def test_every_parent_exists_and_vms_sit_on_their_server(record):
    elems = elements(record, [VM])
    ids = _by_id(elems)
    assert ids["vm:web"]["parent"] == "cloud:dc1" and ids["vm:web"]["tenant"] == "bravo"
    assert ids["on:web@dc1-s1"]["target"] == "server:dc1-s1" and ids["on:web@dc1-s1"]["counter"] == [None, "cnv-web"]
    assert all(n["data"]["parent"] in ids for n in elems["nodes"] if "parent" in n["data"])
    moved = _by_id(elements(record, [{**VM, "site": "dc2", "server": "dc2-s1"}]))
    assert moved["vm:web"]["parent"] == "cloud:dc2" and moved["on:web@dc2-s1"]["source"] == "vm:web"
    assert "on:web@dc1-s1" not in moved
    assert [v for v in elems["vpcs"] if v["name"] == "bravo-vpc"][0]["vms"] == ["web"]


def test_a_migrating_vm_carries_its_phase(record):
    elems = elements(record, [{**VM, "migration": {"phase": "precopy", "to": "dc2/dc2-s1"}}])
    vm = next(n for n in elems["nodes"] if n["data"]["id"] == "vm:web")
    assert vm["data"]["migration"] == {"phase": "precopy", "to": "dc2/dc2-s1"} and "migrating" in vm["classes"]


def test_counters_name_the_interface_after_the_far_end(record):
    pairs = counted(elements(record, []))
    tb = record["testbed"]
    assert (naming.netns(tb, "pe1"), "p1") in pairs            # core link pe1--p1: interface p1 in pe1
    assert (naming.netns(tb, "acme-h1"), "eth0") in pairs
    assert (None, naming.trunk_site_side("dc1-s1")) in pairs    # trunks live in the root namespace


def test_meta_carries_realizations_and_degradations(record):
    meta = elements(record, [])["meta"]
    assert meta["realizations"] == record["realizations"] and meta["degradations"] == record["degradations"]
    assert meta["degradations"] and meta["tenants"] == ["acme", "bravo"]


def test_routing_is_ok_only_with_every_daemon_and_every_session_up():
    """The reading realize/frr.sessions gives (vtysh JSON fields), as the page shows it."""
    up = {"state": "Established", "pfxRcd": 3, "pfxSnt": 1, "peerUptime": "00:00:07", "desc": "p1"}
    live = {"pe1": {"daemons": {"zebra": 10, "bgpd": 11}, "peers": {"100.127.255.5": up}},
            "pe2": {"daemons": {"zebra": 12, "bgpd": None}, "peers": {}},
            "p1": {"daemons": {"zebra": 13, "bgpd": 14},
                   "peers": {"100.127.255.1": up, "100.127.255.2": {**up, "state": "Active", "desc": "pe2"}}}}
    r = routing(live)
    assert r["pe1"] == {"ok": True, "established": 1, "sessions": 1, "down": [],
                        "peers": {"100.127.255.5": {"state": "Established", "desc": "p1", "received": 3, "sent": 1,
                                                    "uptime": "00:00:07"}}}
    assert not r["pe2"]["ok"] and r["pe2"]["down"] == ["bgpd"] and r["pe2"]["sessions"] == 0
    assert not r["p1"]["ok"] and (r["p1"]["established"], r["p1"]["sessions"]) == (1, 2)
