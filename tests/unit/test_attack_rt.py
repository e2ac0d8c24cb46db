"""rt_import's and mac_flap-under-bgp's verdicts from FRR's and the kernel's reads (pure)."""
from __future__ import annotations

from cloudnet_emu.attack import dad, rt

ACME_MAC, BRAVO_MAC, VM_MAC = "02:aa:00:00:00:01", "02:bb:00:00:00:01", "02:aa:00:00:00:09"


def _tenant(ifname):
    return {"vx-acme": "acme", "vx-bravo": "bravo", "vxl-acme-vpc": "acme"}.get(ifname)


def _pe(local=(), remote=(), fdb=(), bravo_imports=("65000:10001",)):
    """A PE with acme's transit VNI 10000 and bravo's 10001; LOCAL/REMOTE: (vni, mac)."""
    macs = {10000: {}, 10001: {}}
    for vni, mac in local:
        macs[vni][mac] = {"type": "local", "intf": "tv"}
    for vni, mac in remote:
        macs[vni][mac] = {"type": "remote", "remoteVtep": "100.127.255.9"}
    return {"vnis": {10000: {"vxlanIf": "vx-acme", "importRTs": ["65000:10000"], "exportRTs": ["65000:10000"]},
                     10001: {"vxlanIf": "vx-bravo", "importRTs": list(bravo_imports), "exportRTs": ["65000:10001"]}},
            "macs": macs,
            "fdb": [{"mac": m, "ifname": dev, "dst": "100.127.255.9", "flags": ["self", "extern_learn"], "state": ""}
                    for dev, m in fdb]}


def _intact():
    return {"pe1": _pe(local=[(10000, ACME_MAC), (10001, BRAVO_MAC)]),
            "pe2": _pe(remote=[(10000, ACME_MAC), (10001, BRAVO_MAC)],
                       fdb=[("vx-acme", ACME_MAC), ("vx-bravo", BRAVO_MAC)])}


VRFS = {"pe2.acme": [{"dst": "10.1.1.0/24", "protocol": "bgp"}, {"dst": "10.254.0.2", "protocol": "bgp"}],
        "pe2.bravo": [{"dst": "10.1.1.0/24", "protocol": "bgp"}]}
VMS = {"acme": {"10.254.0.2", "10.1.1.254"}, "bravo": {"10.1.100.2"}}
NETS = {"acme": ["10.1.1.0/24", "10.1.2.0/24", "10.254.0.0/24"], "bravo": ["10.1.1.0/24", "10.1.100.0/24"]}


def test_intact_every_watcher_live_and_nothing_foreign():
    out = rt.judge(_intact(), VRFS, _tenant, VMS, NETS)
    assert not out["leaks"] and not out["errors"]
    assert {w.at: (w.control, w.seen) for w in out["watched"]} == \
        {"pe1": (0, 0), "pe2": (2, 0), "pe2.acme": (2, 0), "pe2.bravo": (1, 0)}
    assert out["exported"] == {"acme": {ACME_MAC: "pe1"}, "bravo": {BRAVO_MAC: "pe1"}}


def test_a_foreign_route_target_imported_is_a_leak_in_the_config_zebra_and_the_fdb():
    reads = _intact()
    reads["pe2"] = _pe(remote=[(10000, ACME_MAC), (10001, BRAVO_MAC), (10001, ACME_MAC)],
                       fdb=[("vx-acme", ACME_MAC), ("vx-bravo", BRAVO_MAC), ("vx-bravo", ACME_MAC)],
                       bravo_imports=("65000:10001", "65000:10000"))
    out = rt.judge(reads, VRFS, _tenant, VMS, NETS)
    assert "pe2: VNI 10001 (bravo) imports 65000:10000, which acme's VNIs export" in out["leaks"]
    assert f"pe2: acme's {ACME_MAC} (from pe1) in zebra's VNI 10001 (bravo)" in out["leaks"]
    assert f"pe2: acme's {ACME_MAC} (from pe1) in the FDB of vx-bravo (bravo)" in out["leaks"]
    assert [w.seen for w in out["watched"] if w.at == "pe2"] == [3]


def test_another_tenants_vm_host_route_in_a_vrf_is_a_leak_but_an_own_address_is_not():
    vrfs = dict(VRFS, **{"pe2.bravo": [{"dst": "10.1.1.0/24", "protocol": "bgp"}, {"dst": "10.254.0.2"},
                                       {"dst": "10.1.1.254"}]})
    out = rt.judge(_intact(), vrfs, _tenant, VMS, NETS)
    # 10.1.1.254 is acme's VM but inside bravo's own 10.1.1.0/24: not told apart, not counted
    assert out["leaks"] == ["pe2.bravo: acme's VM 10.254.0.2 in its kernel FIB"]


def test_an_unanswered_read_is_an_error_never_a_pass():
    reads = _intact()
    reads["pe2"]["fdb"] = None
    out = rt.judge(reads, dict(VRFS, **{"pe2.acme": None}), _tenant, VMS, NETS)
    assert out["errors"] == ["pe2: no answer to the read of its fdb", "pe2.acme: no answer to the read of its kernel FIB"]


def test_dad_flags_only_duplicates_and_by_mac():
    tables = {"pe3": {20000: {"02:f1:00:00:00:07": {"isDuplicate": True, "detectionCount": 5},
                              VM_MAC: {"isDuplicate": False}}},
              "pe4": {20000: {"02:f1:00:00:00:07": {"isDuplicate": False, "detectionCount": 4}}}, "pe1": None}
    assert dad.flagged(tables) == [("pe3", 20000, "02:f1:00:00:00:07", 5)]
    assert dad.flagged(tables, VM_MAC) == []
