"""A check's expect per realization resolves against the testbed's realizations."""
import pytest

from cloudnet_emu.errors import CloudnetError
from cloudnet_emu.scenario.expect import negative, resolve

HERE = {"router": "netns", "core": "vxlan", "datapath": "netdev", "control": "bgp"}


def test_plain_expect_is_itself():
    assert resolve("fail", HERE) == ("fail", "")
    assert resolve("pass", HERE) == ("pass", "")


def test_a_named_realization_in_force_decides_and_says_so():
    assert resolve({"bgp": "fail"}, HERE) == ("fail", "control=bgp is in force")
    assert resolve({"static": "fail"}, HERE) == ("pass", "none of static is in force")
    assert resolve({"static": "fail", "vxlan": "fail"}, HERE) == ("fail", "core=vxlan is in force")


def test_two_realizations_in_force_that_disagree_are_an_error_not_a_guess():
    with pytest.raises(CloudnetError, match="both pass and fail"):
        resolve({"bgp": "pass", "vxlan": "fail"}, HERE)


def test_negative_is_any_fail():
    assert negative("fail") and negative({"static": "fail"})
    assert not negative("pass") and not negative({"static": "pass"})
