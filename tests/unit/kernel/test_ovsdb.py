"""How long a change may take ovs-vswitchd: the allowance grows with what the change adds."""
from cloudnet_emu.kernel import ovsdb


def test_an_empty_change_gets_the_base_allowance():
    assert ovsdb.timeout_for(0) == ovsdb.TIMEOUT_S


def test_ports_and_bridges_each_add_to_the_allowance():
    assert ovsdb.timeout_for(3000) == ovsdb.TIMEOUT_S + 3000 * ovsdb.PORT_S
    assert ovsdb.timeout_for(10, bridges=12) == ovsdb.TIMEOUT_S + 10 * ovsdb.PORT_S + 12 * ovsdb.BRIDGE_S
    assert ovsdb.timeout_for(0, bridges=12) > 2 * ovsdb.TIMEOUT_S
