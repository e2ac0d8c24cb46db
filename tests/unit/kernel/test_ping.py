"""kernel/ping.py: the argv, and its summary read from captured iputils output."""
from pathlib import Path

from cloudnet_emu.kernel import ping

CAPTURED = Path(__file__).parent / "captured"


def _text(name: str) -> str:
    return (CAPTURED / name).read_text()


def test_argv_keeps_the_options_each_caller_gives():
    assert ping.argv("10.0.0.1", count=2, wait=1.0, size=56) == \
        ["ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "1.0", "-s", "56", "10.0.0.1"]
    assert ping.argv("10.0.0.1", interval="0.01", size=1253) == \
        ["ping", "-n", "-q", "-i", "0.01", "-s", "1253", "10.0.0.1"]
    assert ping.argv("10.0.0.1", count=20, interval="0.05", wait=2) == \
        ["ping", "-n", "-q", "-c", "20", "-i", "0.05", "-W", "2", "10.0.0.1"]


def test_a_reply():
    text = _text("ping_reply.txt")
    assert ping.stats(text) == (3, 3)
    assert ping.rtt(text) == (0.037, 0.043, 0.049)


def test_no_reply_has_stats_but_no_rtt():
    text = _text("ping_no_reply.txt")
    assert ping.stats(text) == (2, 0)
    assert ping.rtt(text) is None


def test_errors_still_count_what_was_sent():
    assert ping.stats(_text("ping_errors.txt")) == (2, 0)


def test_interrupted_stream_prints_its_summary():
    text = _text("ping_interrupted.txt")
    assert ping.stats(text) == (30, 30)


def test_a_ping_that_could_not_run_says_why_last():
    text = _text("ping_unusable.txt")
    assert ping.stats(text) is None
    assert ping.last_line(text) == "ping: nosuch.invalid: Name or service not known"
    assert ping.last_line("") == ""
