"""Bounded request lines: a line too long is answered as such without being kept, a slow one times out."""
from __future__ import annotations

import pytest

from cloudnet_emu.api.lines import ClientTimeout, bounded_lines
from cloudnet_emu.spec.bounds import MAX_LINE


def _source(chunks):
    chunks = list(chunks)

    def read(timeout):
        if not chunks:
            return b""
        chunk = chunks.pop(0)
        if chunk is TimeoutError:
            raise TimeoutError
        return chunk
    return read


def test_lines_split_across_chunks_and_a_last_line_without_newline():
    got = list(bounded_lines(_source([b'{"op"', b': "list"}\n{"a"', b":1}\n\n", b"tail"])))
    assert got == ['{"op": "list"}\n', '{"a":1}\n', "\n", "tail"]


def test_a_line_too_long_is_one_none_and_its_rest_is_dropped():
    huge = [b"x" * 65536] * (4 * MAX_LINE // 65536) + [b"x" * 10 + b"\nnext\n"]
    got = list(bounded_lines(_source(huge)))
    assert got == [None, "next\n"]


def test_a_line_of_exactly_the_limit_is_kept():
    line = b"y" * (MAX_LINE - 1) + b"\n"
    assert list(bounded_lines(_source([line[:1000], line[1000:]]))) == [line.decode()]


def test_bad_utf8_is_replaced_not_fatal():
    assert list(bounded_lines(_source([b"\xff\xfe{}\n"]))) == ["\ufffd\ufffd{}\n"]


def test_silence_and_half_lines_time_out():
    with pytest.raises(ClientTimeout, match="nothing sent for 5 s"):
        list(bounded_lines(_source([TimeoutError]), idle_s=5, line_s=1))
    lines = bounded_lines(_source([b"ok\n", b'{"op": ', TimeoutError]), idle_s=5, line_s=1)
    assert next(lines) == "ok\n"
    with pytest.raises(ClientTimeout, match="no newline 1 s after the line began"):
        next(lines)


def test_the_read_timeout_is_the_idle_one_between_lines_and_the_line_one_within():
    asked = []

    def read(timeout):
        asked.append(timeout)
        return [b"a\n", b"b", b"\n", b""][len(asked) - 1]
    assert list(bounded_lines(read, idle_s=60, line_s=10)) == ["a\n", "b\n"]
    assert asked[0] == 60 and 0 < asked[2] <= 10 and asked[3] == 60


def test_a_half_line_behind_a_long_request_is_timed_from_the_reply(monkeypatch):
    # Two lines in one chunk, the second unfinished; answering the first takes longer than line_s.
    clock = [0.0]
    monkeypatch.setattr("cloudnet_emu.api.lines.time.monotonic", lambda: clock[0])
    asked = []

    def read(timeout):
        asked.append(timeout)
        return [b'{"op": "migrate"}\n{"op"', b': "list"}\n', b""][len(asked) - 1]
    lines = bounded_lines(read, idle_s=60, line_s=10)
    assert next(lines) == '{"op": "migrate"}\n'
    clock[0] += 300                                  # the migration ran for 5 minutes
    assert next(lines) == '{"op": "list"}\n'
    assert asked[1] == 10
