"""Realizations mixed on the full kernel: each construct's fallback beside the other's first choice."""
from __future__ import annotations

import pytest

from cloudnet_emu import checks, lifecycle, pipeline
from tests.conftest import FULL_KERNEL

TOPO = "topologies/cloudnet.yaml"
pytestmark = pytest.mark.vmtier


@pytest.mark.skipif(not FULL_KERNEL, reason="only the full kernel has every realization")
@pytest.mark.parametrize("forced", ["router=netns", "core=vxlan"])
def test_mixed_realizations_on_a_full_kernel(clean_machine, forced):
    """VRF namespaces with the MPLS core, and kernel VRFs with the VXLAN core."""
    record = pipeline.up(TOPO, realize=f"{forced},control=static")     # the data planes mixed, nothing else
    try:
        construct, name = forced.split("=")
        assert record["realizations"][construct] == name
        results = checks.all_checks(record["testbed"], record)
        assert all(r.passed for r in results), [r for r in results if not r.passed]
    finally:
        lifecycle.down(record["testbed"])
