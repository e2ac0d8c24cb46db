"""kernel/ovs.py: ovs-appctl fdb/show read back (captured, Open vSwitch 3.1.0)."""
from pathlib import Path

from cloudnet_emu.kernel import ovs

CAPTURED = Path(__file__).parent / "captured"


def test_rows():
    rows = ovs.parse_fdb((CAPTURED / "ovs_fdb_show.txt").read_text())
    assert len(rows) == 12
    assert rows[0] == {"port": "1", "vlan": "100", "mac": "1e:be:21:c3:3e:f5", "age": "15"}
    assert {"port": "LOCAL", "vlan": "0", "mac": "22:88:d2:27:88:4a", "age": "2"} in rows


def test_header_only():
    assert ovs.parse_fdb(" port  VLAN  MAC                Age\n") == []
    assert ovs.parse_fdb("") == []
