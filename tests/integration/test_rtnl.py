"""kernel/rtnl.py's raw requests make exactly what pyroute2 makes of the same calls (a scratch namespace)."""
import json
import subprocess

import pytest
from pyroute2.netlink.exceptions import NetlinkError

from cloudnet_emu.kernel import ns, rtnl

NETNS = "cnx-rtnl-test"


def ip_json(*argv):
    return json.loads(subprocess.run(["ip", "-n", NETNS, "-j", *argv], capture_output=True, text=True,
                                     check=True).stdout)


@pytest.fixture
def handles(clean_machine):
    ns.create(NETNS)
    try:
        subprocess.run(["ip", "-n", NETNS, "link", "add", "fa", "type", "veth", "peer", "name", "fb"], check=True)
        subprocess.run(["ip", "-n", NETNS, "link", "add", "pa", "type", "veth", "peer", "name", "pb"], check=True)
        for peer in ("fb", "pb"):
            subprocess.run(["ip", "-n", NETNS, "link", "set", peer, "up"], check=True)
        fast, full = ns.rtnl_fast(NETNS), ns.rtnl(NETNS)
        yield fast, full
        fast.close()
        full.close()
    finally:
        ns.delete(NETNS)


def test_raw_requests_make_what_pyroute2_makes(handles):
    fast, full = handles
    fa, pa = fast.link_lookup(ifname="fa")[0], full.link_lookup(ifname="pa")[0]
    assert fast.link_lookup(ifname="nosuch") == []
    for h, idx in ((fast, fa), (full, pa)):
        h.link("set", index=idx, state="up")
    links = {link["ifname"]: link for link in ip_json("link", "show")}
    assert "UP" in links["fa"]["flags"] and "UP" in links["pa"]["flags"]
    fast.addr("add", index=fa, address="10.9.1.1", prefixlen=24)
    full.addr("add", index=pa, address="10.9.2.1", prefixlen=24)
    with pytest.raises(NetlinkError) as exc:
        fast.addr("add", index=fa, address="10.9.1.1", prefixlen=24)
    assert exc.value.code == 17                                   # EEXIST, as pyroute2 reports it
    addrs = {a["ifname"]: a["addr_info"][0] for a in ip_json("addr", "show") if a["ifname"] in ("fa", "pa")}
    strip = lambda a: {k: v for k, v in a.items() if k not in ("local", "label", "valid_life_time",  # noqa: E731
                                                                "preferred_life_time")}
    assert addrs["fa"]["local"] == "10.9.1.1" and strip(addrs["fa"]) == strip(addrs["pa"])
    for table in (None, 1000, 7):
        extra = {"table": table} if table else {}
        fast.route("replace", dst="10.8.1.0/24", gateway="10.9.1.2", oif=fa, priority=5, **extra)
        full.route("replace", dst="10.8.2.0/24", gateway="10.9.2.2", oif=pa, priority=5, **extra)
        fast.route("replace", dst="0.0.0.0/0", gateway="10.9.1.2", **extra)
        argv = ["route", "show"] + (["table", str(table)] if table else [])
        routes = {r["dst"]: r for r in ip_json(*argv)}
        a, b = dict(routes["10.8.1.0/24"]), dict(routes["10.8.2.0/24"])
        assert [(r.pop("dst"), r.pop("gateway"), r.pop("dev")) for r in (a, b)] == \
            [("10.8.1.0/24", "10.9.1.2", "fa"), ("10.8.2.0/24", "10.9.2.2", "pa")]
        assert a == b and a["protocol"] == "static" and a["metric"] == 5
        assert routes["default"]["gateway"] == "10.9.1.2"
        fast.route("replace", dst="10.8.1.0/24", gateway="10.9.1.3", oif=fa, priority=5, **extra)   # replaced
        assert [r["gateway"] for r in ip_json(*argv) if r["dst"] == "10.8.1.0/24"] == ["10.9.1.3"]
        fast.route("del", dst="10.8.1.0/24", **extra)
        fast.route("del", dst="0.0.0.0/0", **extra)
        assert {r["dst"] for r in ip_json(*argv)} == {"10.8.2.0/24"} | ({"10.9.1.0/24", "10.9.2.0/24"} if not table else set())
        with pytest.raises(NetlinkError) as exc:
            fast.route("del", dst="10.8.1.0/24", **extra)
        assert exc.value.code == 3                                # ESRCH: remove.py's "already gone"
        full.route("del", dst="10.8.2.0/24", **extra)
    fast.route("replace", dst="10.7.0.1/32", type="blackhole", gateway=None, table=1000)
    full.route("replace", dst="10.7.0.2/32", type="blackhole", gateway=None, table=1000)
    holes = {r["dst"]: r for r in ip_json("route", "show", "table", "1000") if r.get("type") == "blackhole"}
    assert set(holes) == {"10.7.0.1", "10.7.0.2"}
    assert {k: v for k, v in holes["10.7.0.1"].items() if k != "dst"} == \
        {k: v for k, v in holes["10.7.0.2"].items() if k != "dst"}
    fast.link("del", index=fa)
    assert fast.link_lookup(ifname="fa") == [] and fast.link_lookup(ifname="fb") == []


def test_an_interface_told_before_it_goes_up_makes_no_ipv6_address(handles):
    fast, full = handles
    subprocess.run(["ip", "-n", NETNS, "link", "add", "ca", "type", "veth", "peer", "name", "cb"], check=True)
    subprocess.run(["ip", "-n", NETNS, "link", "set", "cb", "up"], check=True)
    told = {"fa": fast, "pa": full}                   # the raw request, and pyroute2's of the same call
    for name, h in told.items():
        h.link("set", index=h.link_lookup(ifname=name)[0], IFLA_AF_SPEC=rtnl.NO_IPV6_ADDRESSES)
    for name in ("fa", "pa", "ca"):
        fast.link("set", index=fast.link_lookup(ifname=name)[0], state="up")
    modes = {link["ifname"]: link.get("inet6_addr_gen_mode") for link in ip_json("-d", "link", "show")}
    assert modes["fa"] == modes["pa"] == "none" and modes["ca"] != "none"
    v6 = {a["ifname"] for a in ip_json("-6", "addr", "show") if a.get("addr_info")}
    assert "ca" in v6, "the control interface, not told, makes its link-local address on going up"
    assert not v6 & {"fa", "pa"}
