"""The convergence wait's logic (what it asks the routers is read by the integration tests)."""
from __future__ import annotations

import pytest

from cloudnet_emu.errors import RealizeError
from cloudnet_emu.realize import frr
from cloudnet_emu.world import Control

INFO = Control("bgp", routes={"pe1": ["100.127.255.2/32"], "pe2": ["100.127.255.1/32"]},
               sessions={"pe1": ["100.127.255.2"], "pe2": ["100.127.255.1"]})


def test_waits_for_stragglers_then_confirms_with_a_full_pass(monkeypatch):
    asked = []
    answers = iter([{"pe1": ["x"], "pe2": ["y"]}, {"pe2": ["y"]}, {}, {},     # the IGP's routes
                    {"pe1": ["session"]}, {}, {}])                           # then the sessions
    started = []
    monkeypatch.setattr(frr, "lacking", lambda tb, info, routers: (asked.append((bool(info.sessions),
                                                                                 list(routers))), next(answers))[1])
    monkeypatch.setattr(frr, "_start_bgpd", lambda tb, routers: started.append((len(asked), routers)))
    monkeypatch.setattr(frr.time, "sleep", lambda s: None)
    got = frr.converge("tb", INFO)
    both = ["pe1", "pe2"]
    assert asked == [(False, both), (False, both), (False, ["pe2"]), (False, both),
                     (True, both), (True, ["pe1"]), (True, both)]
    assert started == [(4, both)]              # bgpd only once the IGP's routes are all there
    assert got["session_ends"] == 2 and got["routes"] == 2


def test_deadline_names_each_router_and_what_it_lacks(monkeypatch):
    monkeypatch.setattr(frr, "lacking", lambda tb, info, routers: {"pe2": ["session to 100.127.255.1 is Active"]})
    monkeypatch.setattr(frr.time, "sleep", lambda s: None)
    monkeypatch.setattr(frr, "_start_bgpd", lambda tb, routers: None)
    with pytest.raises(RealizeError) as exc:
        frr.converge("tb", INFO, deadline_s=0)
    assert "pe2: session to 100.127.255.1 is Active" in str(exc.value)
