"""realize/apply.py's kept netlink handles: shared within kept_handles(), least recently used
closed past KEPT_MAX, dropped before their namespace goes; no kernel (ns.rtnl_fast is faked)."""
from __future__ import annotations

import pytest

from cloudnet_emu.realize import apply
from cloudnet_emu.realize.apply import Kernel, drop_handle, kept_handles


class FakeHandle:
    def __init__(self, name):
        self.name, self.closed = name, False

    def close(self):
        self.closed = True


@pytest.fixture
def opened(monkeypatch):
    made = []

    def rtnl_fast(name):
        made.append(FakeHandle(name))
        return made[-1]
    monkeypatch.setattr(apply.ns, "rtnl_fast", rtnl_fast)
    monkeypatch.setattr(apply, "KEPT_MAX", 3)
    return made


def test_without_kept_handles_a_kernel_closes_its_own(opened):
    k = Kernel("tb")
    assert k.ip("a") is k.ip("a")
    k.close()
    assert [h.closed for h in opened] == [True]


def test_kept_handles_are_shared_and_closed_at_the_end(opened):
    with kept_handles():
        a = Kernel("tb").ip("a")
        k = Kernel("tb")
        assert k.ip("a") is a
        k.close()
        assert not a.closed
    assert a.closed and len(opened) == 1


def test_the_least_recently_used_goes_past_the_cap(opened):
    with kept_handles():
        k = Kernel("tb")
        a, b, c = k.ip("a"), k.ip("b"), k.ip("c")
        k.ip("a")               # used again: b is now the oldest
        d = k.ip("d")
        assert b.closed and not (a.closed or c.closed or d.closed)
        assert k.ip("b") is not b and len(opened) == 5
    assert all(h.closed for h in opened)


def test_an_adopted_handle_is_kept_unless_one_is_there(opened):
    with kept_handles():
        k = Kernel("tb")
        made = FakeHandle("cn-tb-a")
        k.adopt("a", made)
        assert k.ip("a") is made and not opened
        second = FakeHandle("cn-tb-a")
        k.adopt("a", second)
        assert second.closed and k.ip("a") is made
    assert made.closed


def test_a_dropped_handle_is_closed_and_reopened_on_next_use(opened):
    with kept_handles():
        k = Kernel("tb")
        a = k.ip("a")
        drop_handle(k.netns("a"))
        assert a.closed
        assert k.ip("a") is not a
