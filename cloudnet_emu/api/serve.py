"""The control API: one JSON request per line in, one JSON reply per line out (any language can drive it).

    cloudnet-emu api [--testbed T]                 requests on stdin, replies on stdout
    cloudnet-emu api [--testbed T] --socket PATH   a Unix socket (mode 0600), a thread per client,
                                                   the same line protocol on every connection

Requests (an optional "id" of any JSON type is echoed in the reply):

    {"op": "attach", "vpc": V, "site"?, "server"?, "vcpus"?, "mem_mb"?, "ip"?, "mac"?, "name"?, "policy"?}
    {"op": "detach", "vm": NAME}
    {"op": "migrate", "vm": NAME, "to": "SITE[/SERVER]", "pause_ms"?: 50, "garp"?: true}
    {"op": "list"}

Replies:

    {"id": ..., "ok": true,  "result": {...}}            attach: the VM record (steps_ms ...); detach: {name, ms, steps_ms};
                                                          migrate: the migration record; list: {"vms": [...]}
    {"id": ..., "ok": false, "error": {"kind", "exit", "message", "problems"?}}

`kind` is "bad-request" (exit 2: the request is malformed; `problems` lists each as {line, col, path,
message, hint}, exactly the checks and hints of topology and scenario files, nothing was done),
"placement" / "admission" / "state" (exit 1: refused, nothing was changed) or "realize" (exit 1: the
kernel or OVS refused; the manager rolled back).  Requests are validated before the testbed is
touched; each one then runs under the testbed's lock (the same flock as the CLI), waiting for it, so
concurrent clients are serialized and every reply reflects a whole operation.

Hostile input (docs/limits.md): a line longer than MAX_LINE (64 KiB) or nested deeper than MAX_DEPTH
(64) is a bad-request, found before the line is stored whole or decoded, and the server goes on to
the next line.  On the socket a client is served by its own thread and holds nothing shared while it
sends: the lock is taken only for a whole, valid request.  At most MAX_CLIENTS are served at once
(the next is told so and hung up on); a client silent for CLIENT_IDLE_S, or slower than CLIENT_LINE_S
over one line, or not reading its replies for CLIENT_IDLE_S, is hung up on; its thread and socket go.
"""
from __future__ import annotations

import itertools
import json
import os
import socketserver
import sys
import threading
from typing import Callable, Iterable, Optional

from pydantic import Field, ValidationError

from .. import lifecycle, pipeline, state
from .lines import CHUNK, ClientTimeout, bounded_lines
from ..errors import CloudnetError, Problem, SpecError, StateError
from ..scenario.model import Attach, Detach, Strict
from ..spec.bounds import MAX_LINE, json_depth_problem
from ..spec.load import _from_pydantic

OPS = ("attach", "detach", "migrate", "list")
LOCK_WAIT_S = 300.0
MAX_CLIENTS = 32            # socket clients served at once; each is a thread and a file descriptor
CLIENT_IDLE_S = 60.0        # a socket client silent this long between requests is hung up on
CLIENT_LINE_S = 10.0        # ... and one whose line takes longer than this to arrive whole


class MigrateRequest(Strict):
    vm: str
    to: str = Field(description="SITE or SITE/SERVER")
    pause_ms: float = Field(50, ge=0, le=60000)
    garp: bool = True


class ListRequest(Strict):
    pass


MODELS = {"attach": Attach, "detach": Detach, "migrate": MigrateRequest, "list": ListRequest}


def decode(line: Optional[str], where: str = "<stdin>", number: int = 1):
    """One request line -> its JSON value; SpecError if it is too long (None from bounded_lines),
    nested too deep (checked before `json.loads`, which would recurse) or not JSON."""
    def problem(message, hint, col=1):
        return SpecError([Problem(message, hint=hint, file=where, line=number, col=col)])
    if line is None or len(line) > MAX_LINE:
        raise problem(f"the line is longer than {MAX_LINE // 1024} KiB (the limit); it was dropped",
                      'a request is one short JSON object per line, e.g. {"op": "list"}')
    too_deep = json_depth_problem(line, where, number)
    if too_deep:
        raise SpecError(too_deep)
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise problem(f"not JSON: {exc.msg}", 'one JSON object per line, e.g. {"op": "list"}', exc.colno) from None
    except RecursionError:      # not reached: the scan above bounds the depth; kept so no line kills the server
        raise problem("nested too deep for the JSON reader", 'a request is one flat JSON object') from None


def parse(line: Optional[str], where: str = "<stdin>", number: int = 1) -> tuple[object, str, Strict]:
    """One request line -> (id, op, validated body); SpecError with every problem of the line."""
    return validate(decode(line, where, number), where, number)


def validate(data, where: str = "<stdin>", number: int = 1) -> tuple[object, str, Strict]:
    """A decoded request -> (id, op, validated body); SpecError with every problem of it."""
    def problem(message, path=(), hint="", col=1):
        return Problem(message, path=path, hint=hint, file=where, line=number, col=col)
    if not isinstance(data, dict):
        raise SpecError([problem(f"a request is a JSON object, got {type(data).__name__}",
                                 hint='e.g. {"op": "attach", "vpc": "bravo-vpc"}')])
    data = dict(data)
    rid = data.pop("id", None)
    op = data.pop("op", None)
    if op not in OPS:
        msg = "missing required key 'op'" if op is None else f"unknown op {op!r}"
        raise SpecError([problem(msg, ("op",), f"use one of {', '.join(OPS)}")])
    try:
        return rid, op, MODELS[op].model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            p = _from_pydantic(err, MODELS[op])
            p.file, p.line, p.col = where, number, 1
            problems.append(p)
        raise SpecError(problems) from None


def _error(exc: CloudnetError) -> dict:
    if isinstance(exc, SpecError):
        return {"kind": "bad-request", "exit": 2, "message": "\n".join(p.format() for p in exc.problems),
                "problems": [{"line": p.line, "col": p.col, "path": ".".join(map(str, p.path)), "message": p.message,
                              "hint": p.hint} for p in exc.problems]}
    return {"kind": exc.kind, "exit": exc.exit_code, "message": str(exc)}


def execute(op: str, body, testbed: Optional[str]) -> dict:
    """Run one validated request under the testbed's lock (waiting for it)."""
    name = state.resolve(testbed)
    with state.locked(name, wait=LOCK_WAIT_S):
        cloud, _ = pipeline.managers(name)
        if op == "attach":
            return cloud.attach(**body.model_dump(exclude_none=True))
        if op == "detach":
            return cloud.detach(body.vm)
        if op == "migrate":
            site, _, server = body.to.partition("/")
            return cloud.migrate(body.vm, site, server or None, body.pause_ms, body.garp)
        return {"vms": cloud.vms()}


def handle(line: Optional[str], testbed: Optional[str], where: str = "<stdin>", number: int = 1) -> dict:
    """One request line -> one reply (never raises for a bad or refused request)."""
    rid = None
    try:
        data = decode(line, where, number)
        if isinstance(data, dict):
            rid = data.get("id")                    # echoed even when the rest of the request is bad
        _, op, body = validate(data, where, number)
        return {"id": rid, "ok": True, "result": execute(op, body, testbed)}
    except CloudnetError as exc:
        return {"id": rid, "ok": False, "error": _error(exc)}


def serve_lines(rfile: Iterable[Optional[str]], write: Callable[[str], None], testbed: Optional[str], where: str,
                handler: Callable[..., dict] = None) -> None:
    """Answer each line of `rfile` (a str, or None for a line too long to keep: see lines.py)."""
    for number, line in enumerate(rfile, 1):
        if line is not None and not line.strip():
            continue
        write(json.dumps((handler or handle)(line, testbed, where, number), default=str) + "\n")


def serve_stdio(testbed: Optional[str]) -> None:
    def write(text: str):
        sys.stdout.write(text)
        sys.stdout.flush()
    stdin = sys.stdin.buffer
    serve_lines(bounded_lines(lambda _timeout: stdin.read1(CHUNK)), write, testbed, "<stdin>")


def _refusal(message: str) -> dict:
    return {"id": None, "ok": False, "error": {"kind": "state", "exit": 1, "message": message}}


class _InFlight:
    """Requests being served: counted, so that stopping waits for them; refused once stopping."""

    def __init__(self):
        self.cond = threading.Condition()
        self.count = 0
        self.stopping = False

    def guarded(self, line: str, testbed: Optional[str], where: str, number: int) -> dict:
        with self.cond:
            if self.stopping:
                return _refusal("the API server is stopping")
            self.count += 1
        try:
            return handle(line, testbed, where, number)
        finally:
            with self.cond:
                self.count -= 1
                self.cond.notify_all()

    def drain(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.wait_for(lambda: self.count == 0, timeout=LOCK_WAIT_S)


class _Client(socketserver.BaseRequestHandler):
    """One socket client: its lines served in turn, within the server's seats and time limits."""

    def handle(self):
        srv: _Server = self.server
        if not srv.seats.acquire(blocking=False):
            self._last_word(f"the API server already serves {MAX_CLIENTS} clients; try again later")
            return
        try:
            lines = bounded_lines(self._read, CLIENT_IDLE_S, CLIENT_LINE_S)
            serve_lines(lines, self._write, srv.testbed, f"<socket client {next(srv.clients)}>", srv.inflight.guarded)
        except ClientTimeout as exc:
            self._last_word(f"hung up: {exc.what}")
        except OSError:
            pass            # the client went away mid-request or mid-reply: only its own connection ends
        finally:
            srv.seats.release()

    def _read(self, timeout: Optional[float]) -> bytes:
        self.request.settimeout(timeout)
        return self.request.recv(CHUNK)

    def _write(self, text: str) -> None:
        self.request.settimeout(CLIENT_IDLE_S)      # a client that never reads cannot hold its thread
        self.request.sendall(text.encode())

    def _last_word(self, message: str) -> None:
        try:
            self._write(json.dumps(_refusal(message)) + "\n")
        except OSError:
            pass        # it hung up first: nothing more to tell it


class _Server(socketserver.ThreadingUnixStreamServer):
    request_queue_size = 128    # a burst of connects (hostile or not) must not refuse the next good one
    daemon_threads = True       # an idle client must not hold the server open

    def __init__(self, path: str, testbed: Optional[str]):
        self.testbed = testbed
        self.inflight = _InFlight()
        self.clients = itertools.count(1)
        self.seats = threading.BoundedSemaphore(MAX_CLIENTS)
        old = os.umask(0o177)
        try:
            super().__init__(path, _Client)
        finally:
            os.umask(old)


def serve_socket(path: str, testbed: Optional[str], ready: Callable[[], None] = lambda: None) -> None:
    """Serve until Ctrl-C or SIGTERM; the socket file is ours (created 0600, removed on exit).  On the
    way out, requests already running finish (a half-done attach is never abandoned); new ones are refused."""
    if os.path.exists(path):
        raise StateError(f"{path} exists: another `cloudnet-emu api --socket` may be serving it; "
                         "remove the file if not")
    server = _Server(path, testbed)
    try:
        with lifecycle.sigterm_as_interrupt():
            ready()
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
    finally:
        server.inflight.drain()
        server.server_close()
        os.unlink(path)
