"""The in-process doors to Open vSwitch (kernel/ovsdb.py, kernel/unixctl.py, ovs.forget_mac) against
the real daemons, on a scratch userspace bridge: the same rows as ovs-vsctl, a port that forwards when
add_ports returns, one MAC forgotten and the others kept."""
import json
import socket
import subprocess
import time

import pytest

from cloudnet_emu.errors import RealizeError
from cloudnet_emu.kernel import ovs, ovsdb, unixctl

BR = "cnxbrtest"
MAC = "02:aa:bb:cc:dd:01"
OTHER = "02:aa:bb:cc:dd:02"


def sh(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def bridge(clean_machine):
    ovs.vsctl([["add-br", BR], ["set", "bridge", BR, "datapath_type=netdev", "fail_mode=standalone"]])
    links = []
    try:
        for i in range(3):
            sh("ip", "link", "add", f"cnxi{i}", "type", "veth", "peer", "name", f"cnxj{i}")
            links.append(f"cnxj{i}")
            for dev in (f"cnxi{i}", f"cnxj{i}"):
                sh("ip", "link", "set", dev, "up")
        yield BR
    finally:
        ovs.delete_bridges([BR])
        for dev in links:
            subprocess.run(["ip", "link", "del", dev], capture_output=True)


def port_rows():
    out = json.loads(sh("ovs-vsctl", "--format=json", "--columns=name,tag,vlan_mode,trunks,external_ids",
                        "list", "Port"))
    return {r[0]: r[1:] for r in out["data"] if r[0].startswith("cnxi")}


def send_from(dev: str, mac: str):
    """One broadcast frame from MAC into the bridge through DEV's peer: the bridge learns MAC."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((dev, 0))
        s.send(b"\xff" * 6 + bytes.fromhex(mac.replace(":", "")) + b"\x88\xb5" + b"\0" * 46)


def learned(mac: str) -> bool:
    return mac in unixctl.call("fdb/show", BR)


def test_add_ports_makes_what_vsctl_makes_and_del_ports_removes_them(bridge):
    ovsdb.add_ports([{"bridge": BR, "name": "cnxi0", "tag": 300, "external_ids": {"cloudnet-emu-vm": "a"}},
                     {"bridge": BR, "name": "cnxi1", "trunks": (300, 301), "external_ids": {}}])
    ovs.vsctl([["add-port", BR, "cnxi2"], ["set", "port", "cnxi2", "tag=300", "vlan_mode=access",
                                           "external_ids:cloudnet-emu-vm=a"]])
    rows = port_rows()
    assert rows["cnxi0"] == rows["cnxi2"]
    assert rows["cnxi1"][1] == "trunk" and rows["cnxi1"][2] == ["set", [300, 301]]
    # ovs-vswitchd applied it before add_ports returned: the interface has its OpenFlow port number
    assert int(sh("ovs-vsctl", "get", "interface", "cnxi0", "ofport")) > 0
    with pytest.raises(ovsdb.Taken):
        ovsdb.add_ports([{"bridge": BR, "name": "cnxi0", "tag": 300, "external_ids": {}}])
    with pytest.raises(RealizeError, match="no bridge cnxnosuch"):
        ovsdb.add_ports([{"bridge": "cnxnosuch", "name": "cnxi9", "tag": 300, "external_ids": {}}])
    ovsdb.del_ports(["cnxi0", "cnxi1", "cnxnothere"])
    ovsdb.del_ports(["cnxi0"])                              # gone already: fine
    assert set(port_rows()) == {"cnxi2"}
    assert sh("ovs-vsctl", "list-ports", BR).split() == ["cnxi2"]


def test_forget_mac_forgets_one_learned_mac_and_keeps_the_others(bridge):
    ovsdb.add_ports([{"bridge": BR, "name": f"cnxi{i}", "tag": 300, "external_ids": {}} for i in range(2)])
    send_from("cnxj0", MAC)
    send_from("cnxj1", OTHER)
    deadline = time.monotonic() + 5
    while not (learned(MAC) and learned(OTHER)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert learned(MAC) and learned(OTHER)
    assert unixctl.try_call("fdb/del", BR, 300, MAC) is None      # why forget_mac exists: learned is not static
    ovs.forget_mac([(BR, 300), ("cnxnosuch", 300)], MAC)
    assert not learned(MAC) and learned(OTHER)
    ovs.forget_mac([(BR, 300)], MAC)                           # nothing to forget: fine
    assert not learned(MAC)


def test_unixctl_reports_a_refused_command():
    with pytest.raises(RealizeError, match="fdb/show"):
        unixctl.call("fdb/show", "cnxnosuch")
    assert unixctl.try_call("fdb/show", "cnxnosuch") is None
    # several at once: answered in order, a refused one as None among the others
    out = unixctl.try_many([("version",), ("fdb/show", "cnxnosuch"), ("version",)])
    assert "Open vSwitch" in out[0] and out[1] is None and out[2] == out[0]
    assert unixctl.try_many([]) == []


def ofport(name: str) -> str:
    return subprocess.run(["ovs-vsctl", "get", "interface", name, "ofport"], capture_output=True, text=True).stdout


def test_deferred_waits_once_on_leaving(bridge):
    ovsdb.add_ports([{"bridge": BR, "name": f"cnxi{i}", "tag": 300, "external_ids": {}} for i in range(3)])
    with ovsdb.deferred():
        ovsdb.del_ports(["cnxi0"])
        with ovsdb.deferred():                      # nested: the outer one waits
            ovsdb.del_ports(["cnxi1"])
        assert ovsdb._deferred.target > 0           # not waited for yet
    # on leaving, ovs-vswitchd had applied both: the datapath no longer has the ports
    dp = unixctl.call("dpif/show")
    assert "cnxi0" not in dp and "cnxi1" not in dp and "cnxi2" in dp
    assert ovsdb._deferred.target is None
    with pytest.raises(ZeroDivisionError):          # the body's error, after the wait
        with ovsdb.deferred():
            ovsdb.del_ports(["cnxi2"])
            1 / 0
    assert "cnxi2" not in unixctl.call("dpif/show") and ofport("cnxi2") == ""
