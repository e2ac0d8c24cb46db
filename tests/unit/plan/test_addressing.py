"""plan/addressing.py: the n-th subnet by arithmetic is the n-th the pool's walk gives."""
from __future__ import annotations

import ipaddress
from itertools import islice

import pytest

from cloudnet_emu.errors import StateError
from cloudnet_emu.plan import addressing


@pytest.mark.parametrize("pool,prefixlen", [("10.0.0.0/8", 30), ("172.16.0.0/12", 24), ("192.168.0.0/16", 30),
                                            ("10.1.0.0/16", 16)])
def test_nth_subnet_is_the_walks_nth(pool, prefixlen):
    walk = list(islice(ipaddress.ip_network(pool).subnets(new_prefix=prefixlen), 9000))
    for n in sorted({0, 1, 2, 255, 4095, 8191, 8192, 8193, len(walk) - 1}):
        if n < len(walk):
            assert addressing.nth_subnet(pool, prefixlen, n) == walk[n]


def test_p2p_of_a_cloud_attachment_circuit():
    assert addressing.p2p("10.0.0.0/16", 8192) == ("10.0.128.1/30", "10.0.128.2/30")


@pytest.mark.parametrize("n", [-1, 64])
def test_nth_subnet_past_the_pool_is_a_state_error(n):
    with pytest.raises(StateError, match="used up"):
        addressing.nth_subnet("10.0.0.0/24", 30, n)
