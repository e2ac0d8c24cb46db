"""`exec NODE -- vtysh ...` is aimed at the router's own FRR instance, and nothing else is changed."""
from __future__ import annotations

from cloudnet_emu import state
from cloudnet_emu.cli import control as cli_control


def test_vtysh_gets_the_routers_socket_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(state, "daemon_dir", lambda testbed, *parts: str(tmp_path.joinpath(testbed, *parts)))
    (tmp_path / "tb" / "pe1").mkdir(parents=True)
    d = str(tmp_path / "tb" / "pe1")
    assert cli_control.with_vty_socket("tb", "pe1", ("vtysh", "-c", "show bgp summary")) == \
        ["vtysh", "--vty_socket", d, "-c", "show bgp summary"]
    assert cli_control.with_vty_socket("tb", "pe1", ["/usr/bin/vtysh"])[:3] == ["/usr/bin/vtysh", "--vty_socket", d]
    # the user's own socket, another command, a node without FRR: untouched
    assert cli_control.with_vty_socket("tb", "pe1", ["vtysh", "--vty_socket", "/x"]) == ["vtysh", "--vty_socket", "/x"]
    assert cli_control.with_vty_socket("tb", "pe1", ["ip", "route"]) == ["ip", "route"]
    assert cli_control.with_vty_socket("tb", "acme-h1", ["vtysh"]) == ["vtysh"]


def test_routing_is_read_only_under_bgp():
    assert cli_control.routing("tb", {"info": {"control": {"realization": "static"}}}) == {}
    assert cli_control.routing("tb", {"info": {}}) == {}
