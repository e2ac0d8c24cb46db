"""The Cloud Manager's testbed-free rules, and the scenario replay applying the same ones."""
from cloudnet_emu.managers import rules
from cloudnet_emu.scenario.paper import Paper
from cloudnet_emu.spec.load import load_topology


def test_an_unnamed_vm_takes_the_first_free_vm_n():
    assert rules.vm_name([]) == "vm1"
    assert rules.vm_name(["vm1", "vm2", "vm4"]) == "vm3"


def test_a_vm_fits_where_both_its_vcpus_and_memory_do():
    assert rules.fits((2, 1024), 2, 1024)
    assert not rules.fits((2, 1024), 3, 512) and not rules.fits((2, 1024), 1, 2048)


def test_the_replay_names_vms_as_the_cloud_manager_does(world):
    paper = Paper(load_topology("topologies/cloudnet.yaml"))
    assert world.cloud.attach("bravo-vpc", site="dc1")["name"] == paper.auto_name()
