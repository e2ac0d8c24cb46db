"""kernel/iperf.py: iperf3's JSON report (captured, iperf 3.12)."""
from pathlib import Path

import pytest

from cloudnet_emu.errors import StateError
from cloudnet_emu.kernel import iperf

CAPTURED = Path(__file__).parent / "captured"


def test_a_report():
    data = iperf.parse((CAPTURED / "iperf3_client.json").read_text())
    assert iperf.received_bps(data) == pytest.approx(17145918203.92)
    assert iperf.mss(data) == 32768          # loopback's MTU


def test_iperf3s_own_error_is_a_state_error():
    with pytest.raises(StateError, match="iperf3: unable to connect to server: Connection refused"):
        iperf.parse((CAPTURED / "iperf3_refused.json").read_text())


def test_no_json_names_what_it_said():
    with pytest.raises(StateError, match="iperf3 gave no result: iperf3: error - something"):
        iperf.parse("", "iperf3: error - something")


def test_mss_defaults():
    assert iperf.mss({"start": {}}) == iperf.DEFAULT_MSS
