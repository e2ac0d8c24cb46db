"""Hostile clients under load: while one good client attaches, migrates and detaches VMs through the socket
API, hostile clients send garbage, half lines that never end, huge and deep lines, and hang up mid-request.
Every good request succeeds; afterwards `check` is green and the testbed is as the good client left it.
The good client's latencies with and without the hostile clients are printed (figures, not asserts)."""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import threading
import time

from tests.integration.test_attach import _ns_state

CYCLES = 4


def _connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(600)
    return s


def _ask(s: socket.socket, request: dict) -> dict:
    s.sendall((json.dumps(request) + "\n").encode())
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(1)
        assert chunk, f"the server hung up on the good client after {data!r}"
        data += chunk
    return json.loads(data)


def _good_client(path: str, tag: str) -> list[tuple[str, float, dict]]:
    """attach, migrate to dc2, detach, CYCLES times on one connection: (op, seconds, reply) each."""
    out = []
    with _connect(path) as s:
        for i in range(CYCLES):
            name = f"{tag}{i}"
            for request in ({"id": f"a-{name}", "op": "attach", "vpc": "bravo-vpc", "site": "dc1", "name": name},
                            {"id": f"m-{name}", "op": "migrate", "vm": name, "to": "dc2"},
                            {"id": f"d-{name}", "op": "detach", "vm": name}):
                t0 = time.perf_counter()
                reply = _ask(s, request)
                out.append((request["op"], time.perf_counter() - t0, reply))
    return out


def _hostile(path: str, kind: str, stop: threading.Event, counts: dict) -> None:
    while not stop.is_set():
        try:
            with _connect(path) as s:
                if kind == "garbage":
                    s.sendall(os.urandom(512).replace(b"\n", b"x") + b"\n" + b"{op: attach}\n" + b"\xff\xfe\n")
                    s.recv(65536)
                elif kind == "half":               # never ends its line: the server hangs up (CLIENT_LINE_S)
                    s.sendall(b'{"op": "attach", "vpc": "bravo-vpc", ')
                    while s.recv(65536) and not stop.is_set():
                        pass
                elif kind == "huge":
                    s.sendall(b'{"op": "list", "x": "' + b"y" * (1 << 20))
                    s.recv(65536)
                elif kind == "deep":
                    s.sendall(b"[" * 30000 + b"]" * 30000 + b"\n")
                    s.recv(65536)
                elif kind == "hangup":             # half a valid request, then gone
                    s.sendall(b'{"op": "detach", "vm": "g0"')
            counts[kind] = counts.get(kind, 0) + 1
        except OSError:
            counts[kind + "-refused"] = counts.get(kind + "-refused", 0) + 1
            time.sleep(0.05)


def _usage(pid: int) -> tuple[int, int]:
    return len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd"))


def _settled(pid: int, want) -> tuple[int, int]:
    """The server's (threads, fds) once they stop changing, or once they equal `want`."""
    deadline, last = time.monotonic() + 60, None      # waits for hang-ups (CLIENT_LINE_S); measures nothing
    while time.monotonic() < deadline:
        now = _usage(pid)
        if now == want or (want is None and now == last):
            return now
        last = now
        time.sleep(0.5)
    return _usage(pid)


def _latency(rows) -> str:
    by_op = {}
    for op, secs, _ in rows:
        by_op.setdefault(op, []).append(secs * 1000)
    return ", ".join(f"{op} median {statistics.median(v):.0f} ms max {max(v):.0f} ms" for op, v in by_op.items())


def test_good_client_is_served_through_hostile_clients(testbed, cli, tmp_path):
    tb = testbed["testbed"]
    before = _ns_state(tb)
    sock = str(tmp_path / "api.sock")
    server = subprocess.Popen([cli, "api", "--testbed", tb, "--socket", sock], stderr=subprocess.PIPE, text=True)
    stop = threading.Event()
    hostile = []
    counts: dict = {}
    try:
        assert "serving" in server.stderr.readline()
        quiet = _good_client(sock, "q")
        baseline = _settled(server.pid, None)
        for kind in ("garbage", "half", "half", "huge", "deep", "hangup", "garbage", "half"):
            t = threading.Thread(target=_hostile, args=(sock, kind, stop, counts), daemon=True)
            t.start()
            hostile.append(t)
        time.sleep(1)                              # let them get going before the good client starts
        loud = _good_client(sock, "g")
        stop.set()
        for t in hostile:
            t.join(60)
        assert not any(t.is_alive() for t in hostile)
        assert _settled(server.pid, baseline) == baseline       # no thread or descriptor left behind
        for op, _, reply in quiet + loud:
            assert reply["ok"], (op, reply)
        assert len(loud) == 3 * CYCLES
        print(f"\ngood requests served: {len(quiet)} alone, {len(loud)} with 8 hostile clients "
              f"({sum(v for k, v in counts.items() if not k.endswith('-refused'))} hostile connections: {counts})"
              f"\n  alone:   {_latency(quiet)}\n  hostile: {_latency(loud)}")
        res = subprocess.run([cli, "check", tb], capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, res.stdout + res.stderr
        with _connect(sock) as s:
            listing = _ask(s, {"op": "list"})
        assert listing["ok"] and listing["result"]["vms"] == []
    finally:
        stop.set()
        server.terminate()
        server.wait(60)
    assert not os.path.exists(sock)
    assert server.returncode == 0
    time.sleep(0.2)
    assert _ns_state(tb) == before
