"""kernel/ipjson: `ip -j` output with a repeated key (a labelled route) keeps the route's prefix."""
import json

import pytest

from cloudnet_emu.kernel import ipjson

# `ip -j route show` of a route with an MPLS encapsulation, as iproute2 prints it: the route's
# "dst", then the encapsulation's "dst" (its label stack)
LABELLED = ('[{"dst":"10.1.2.0/24","encap":"mpls","dst":"100/200","gateway":"100.64.0.2","dev":"p1",'
            '"flags":[]},{"dst":"100.127.255.2","gateway":"100.64.0.2","dev":"p1","flags":[]}]')


def test_plain_json_loses_the_prefix_and_ipjson_keeps_it():
    assert json.loads(LABELLED)[0]["dst"] == "100/200"
    rows = ipjson.loads(LABELLED)
    assert [r["dst"] for r in rows] == ["10.1.2.0/24", "100.127.255.2"]
    assert rows[0]["dst#2"] == "100/200" and rows[0]["gateway"] == "100.64.0.2"


def test_empty_output_is_an_empty_list_and_garbage_an_error():
    assert ipjson.loads("") == []
    with pytest.raises(ValueError):
        ipjson.loads("not json")
