"""kernel/nft.py: nft -j read back (captured, nftables 1.0.6), refusals, no table."""
import subprocess
from pathlib import Path

import pytest

from cloudnet_emu.errors import RealizeError
from cloudnet_emu.kernel import nft

CAPTURED = Path(__file__).parent / "captured"


def _fake(monkeypatch, rc: int, stdout: str = "", stderr: str = ""):
    seen = []

    def run(argv, netns=None, check=True, input=None, **kw):
        seen.append((argv, netns, input))
        return subprocess.CompletedProcess(argv, rc, stdout, stderr)
    monkeypatch.setattr(nft.kexec, "run", run)
    return seen


def test_counters_parsed(monkeypatch):
    seen = _fake(monkeypatch, 0, (CAPTURED / "nft_counters.json").read_text())
    listed = nft.counters("cn-x-pe1", "inet", "kdoorcap")
    assert seen[0][:2] == (["nft", "-j", "list", "counters", "table", "inet", "kdoorcap"], "cn-x-pe1")
    counter = listed["nftables"][1]["counter"]
    assert (counter["name"], counter["packets"], counter["bytes"]) == ("c1", 0, 0)


def test_no_table_is_none(monkeypatch):
    _fake(monkeypatch, 1, stderr="Error: No such file or directory")
    assert nft.counters("cn-x-pe1", "inet", "nosuch") is None


def test_a_refused_ruleset_names_itself(monkeypatch):
    seen = _fake(monkeypatch, 1, stderr="Error: syntax error\n")
    with pytest.raises(RealizeError) as exc:
        nft.load("cn-x-pe1", "table inet t { bogus }")
    assert seen[0] == (["nft", "-f", "-"], "cn-x-pe1", "table inet t { bogus }")
    assert "ip netns exec cn-x-pe1 nft -f -" in str(exc.value)
    assert "syntax error" in str(exc.value) and "bogus" in str(exc.value)
