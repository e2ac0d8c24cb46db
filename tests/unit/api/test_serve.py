"""The control API's request validation (no root, no testbed): bad requests get clear errors, no traceback."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cloudnet_emu.api import serve as api
from cloudnet_emu.errors import SpecError


def _problems(line: str) -> list:
    with pytest.raises(SpecError) as exc:
        api.parse(line, "<stdin>", 3)
    return exc.value.problems


def test_valid_requests_parse():
    rid, op, body = api.parse('{"id": 7, "op": "attach", "vpc": "bravo-vpc", "site": "dc1", "vcpus": 2}')
    assert (rid, op, body.vpc, body.site, body.vcpus) == (7, "attach", "bravo-vpc", "dc1", 2)
    assert api.parse('{"op": "migrate", "vm": "web", "to": "dc2/dc2-s1"}')[2].pause_ms == 50
    assert api.parse('{"op": "list"}')[1] == "list"
    assert api.parse('{"op": "detach", "vm": "web"}')[2].vm == "web"


@pytest.mark.parametrize("line, path, message, hint", [
    ("{not json", "", "not JSON", "one JSON object per line"),
    ("[1, 2]", "", "a request is a JSON object, got list", '"op": "attach"'),
    ('{"vpc": "x"}', "op", "missing required key 'op'", "use one of attach, detach, migrate, list"),
    ('{"op": "boot"}', "op", "unknown op 'boot'", "use one of attach, detach, migrate, list"),
    ('{"op": "attach"}', "vpc", "missing required key 'vpc'", "add it"),
    ('{"op": "attach", "vpc": "Bad_Name"}', "vpc", "'Bad_Name' is not a valid name", "lower-case letters"),
    ('{"op": "attach", "vpc": "a", "vcpus": 0}', "vcpus", "greater than 0", "positive number"),
    ('{"op": "attach", "vpc": "a", "sit": "dc1"}', "sit", "unknown key 'sit'", "did you mean 'site'?"),
    ('{"op": "attach", "vpc": "a", "policy": "random"}', "policy", "Input should be", "one of the listed"),
    ('{"op": "migrate", "vm": "web"}', "to", "missing required key 'to'", "add it"),
    ('{"op": "migrate", "vm": "web", "to": "dc2", "pause_ms": -1}', "pause_ms", "greater than or equal", "larger"),
    ('{"op": "list", "all": true}', "all", "unknown key 'all'", "allowed keys here"),
    # found by the fuzzer (test_fuzz.py): no hint for a null where a number goes
    ('{"op": "migrate", "vm": "web", "to": "dc2", "pause_ms": null}', "pause_ms", "valid number", "write a number"),
    ("[" * 65 + "]" * 65, "", "nested more than 64 levels deep", "one flat JSON object"),
    ('{"op": "list", "x": "' + "y" * 70000 + '"}', "", "longer than 64 KiB", "one short JSON object"),
])
def test_bad_requests_name_the_field_and_give_a_hint(line, path, message, hint):
    problems = _problems(line)
    p = next(p for p in problems if ".".join(map(str, p.path)) == path)
    assert message in p.message and hint in p.hint
    assert p.format().startswith("<stdin>:3:")


def test_cli_replies_one_line_per_request_and_never_a_traceback():
    lines = ['{"id": 1, "op": "attach", "vpc": "Bad_Name"}', "garbage", "", '{"id": [2], "op": "nope"}']
    res = subprocess.run([sys.executable, "-c", "from cloudnet_emu.api import serve; serve.serve_stdio('nosuch')"],
                         input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "Traceback" not in res.stderr
    replies = [json.loads(l) for l in res.stdout.splitlines()]
    assert [r["id"] for r in replies] == [1, None, [2]]
    assert all(not r["ok"] and r["error"]["kind"] == "bad-request" and r["error"]["exit"] == 2 for r in replies)
    assert replies[0]["error"]["problems"][0]["path"] == "vpc"
    assert replies[1]["error"]["problems"][0]["line"] == 2


# ---- the socket server against hostile clients (a real server process, no testbed: valid requests
# are refused with "state", which is enough to show who is still served) ----

SERVER = """
import sys
from cloudnet_emu.api import serve as api
api.CLIENT_IDLE_S, api.CLIENT_LINE_S, api.MAX_CLIENTS = 3.0, 1.0, 4
api.serve_socket(sys.argv[1], "nosuch-hostile-test", ready=lambda: print("ready", flush=True))
"""


@pytest.fixture
def server(tmp_path):
    import os
    path = str(tmp_path / "api.sock")
    proc = subprocess.Popen([sys.executable, "-c", SERVER, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        yield path, proc
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr.read()
    assert not os.path.exists(path)


def _connect(path):
    import socket
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)                  # blocking: a full backlog waits rather than fails
    s.settimeout(30)
    return s


def _reply(s) -> dict:
    data = b""
    while not data.endswith(b"\n"):           # a byte at a time: the next reply stays in the socket
        chunk = s.recv(1)
        assert chunk, f"hung up without a reply (got {data!r})"
        data += chunk
    return json.loads(data)


def _until_eof(s) -> bytes:
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data


def _usage(pid: int) -> tuple[int, int]:
    import os
    return len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd"))


def _settles(pid: int, want: tuple[int, int]) -> tuple[int, int]:
    import time
    deadline = time.monotonic() + 20             # generous: this waits for hang-ups, it measures nothing
    while _usage(pid) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    return _usage(pid)


def test_socket_server_serves_good_clients_through_hostile_ones_and_leaves_nothing(server):
    path, proc = server
    baseline = _usage(proc.pid)
    half = _connect(path)
    half.sendall(b'{"op": "attach", "vpc": ')                   # a half line that never ends
    huge = _connect(path)
    huge.sendall(b"[" * (1 << 20))                              # 1 MiB, no newline: answered at 64 KiB
    assert "longer than 64 KiB" in _reply(huge)["error"]["message"]
    huge.close()
    deep = _connect(path)
    deep.sendall(b"[" * 30000 + b"]" * 30000 + b"\n" + b"\xff\x00garbage\n" + b'{"id": 3, "op": "list"}\n')
    replies = [_reply(deep) for _ in range(3)]
    assert [r["error"]["kind"] for r in replies] == ["bad-request", "bad-request", "state"]
    assert "nested more than 64 levels" in replies[0]["error"]["message"] and replies[2]["id"] == 3
    deep.close()
    for _ in range(5):
        _connect(path).close()                                  # connect and go
    rude = _connect(path)
    rude.sendall(b'{"id": 9, "op": "list"}\n' * 50)             # requests, then gone without reading
    rude.close()
    good = _connect(path)
    good.sendall(b'{"id": 1, "op": "list"}\n')
    assert _reply(good) == {"id": 1, "ok": False, "error": {
        "kind": "state", "exit": 1, "message": _reply_message_of_no_testbed()}}
    good.close()
    assert b"hung up: no newline 1 s after the line began" in _until_eof(half)
    half.close()
    assert _settles(proc.pid, baseline) == baseline


def _reply_message_of_no_testbed() -> str:
    from cloudnet_emu import state
    from cloudnet_emu.errors import StateError
    with pytest.raises(StateError) as exc:
        state.resolve("nosuch-hostile-test")
    return str(exc.value)


def test_socket_server_turns_away_clients_beyond_its_seats_and_hangs_up_on_silent_ones(server):
    path, proc = server
    baseline = _usage(proc.pid)
    seated = [_connect(path) for _ in range(4)]
    for s in seated:                                            # each reply proves a seat is taken
        s.sendall(b"{}\n")
        assert _reply(s)["error"]["kind"] == "bad-request"
    extra = _connect(path)
    assert "already serves 4 clients" in _reply(extra)["error"]["message"]
    assert _until_eof(extra) == b""
    extra.close()
    for s in seated:                                            # silent: hung up on after CLIENT_IDLE_S
        assert b"hung up: nothing sent for 3 s" in _until_eof(s)
        s.close()
    again = _connect(path)                                      # the seats are free again
    again.sendall(b"{}\n")
    assert _reply(again)["error"]["kind"] == "bad-request"
    again.close()
    assert _settles(proc.pid, baseline) == baseline
