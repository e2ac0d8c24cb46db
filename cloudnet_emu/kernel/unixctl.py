"""ovs-vswitchd's control socket, spoken in-process: what `ovs-appctl` does, without a fork.

The socket is $OVS_RUNDIR/ovs-vswitchd.<pid>.ctl (OVS_RUNDIR defaults to /var/run/openvswitch;
<pid> from ovs-vswitchd.pid) and carries JSON-RPC 1.0: {"method": "fdb/show", "params": [...],
"id": n} in, {"result": text, "error": null, "id": n} out.  One connection is kept open per
process and reopened when the daemon's pid changes (a restart).  A command that fails comes back
as its error text (`call` raises RealizeError, `try_call` returns None).
"""
from __future__ import annotations

import errno
import os
import threading
from typing import Callable, Optional

from ..errors import RealizeError
from . import jsonrpc

TIMEOUT_S = 20

_conn: dict = {"pid": None, "stream": None, "waiter": None}
_lock = threading.RLock()     # one request at a time on the shared connection (API server threads)


def _rundir() -> str:
    return os.environ.get("OVS_RUNDIR", "/var/run/openvswitch")


def _stream() -> jsonrpc.Stream:
    try:
        with open(os.path.join(_rundir(), "ovs-vswitchd.pid")) as f:
            pid = f.read().strip()
    except OSError as exc:
        raise RealizeError("ovs-vswitchd control socket", exc.errno, "ovs-vswitchd is not running "
                           "(start it: /usr/share/openvswitch/scripts/ovs-ctl start, or ./setup.sh)") from None
    if _conn["stream"] is not None and _conn["pid"] == pid:
        return _conn["stream"]
    close()
    _conn.update(pid=pid, stream=jsonrpc.Stream(os.path.join(_rundir(), f"ovs-vswitchd.{pid}.ctl"), TIMEOUT_S))
    return _conn["stream"]


def close() -> None:
    for key in ("stream", "waiter"):
        if _conn[key] is not None:
            _conn[key].close()
    _conn.update(pid=None, stream=None, waiter=None)


def _exchange(method: str, params: list[str]) -> dict:
    with _lock:
        stream = _stream()
        stream.next_id += 1
        ident = stream.next_id
        try:
            stream.send({"method": method, "params": [str(p) for p in params], "id": ident})
            while True:
                msg = stream.read()
                if msg.get("id") == ident:
                    return msg
        except OSError as exc:
            close()
            raise RealizeError(f"ovs-appctl {method}", exc.errno or errno.EIO, str(exc)) from None


def try_many(calls: list[tuple]) -> list[Optional[str]]:
    """Run several ovs-appctl commands, each (method, *params), sent together and answered in
    order (one round trip instead of one per command); each one's output, or None if refused."""
    if not calls:
        return []
    with _lock:
        stream = _stream()
        idents = []
        try:
            for method, *params in calls:
                stream.next_id += 1
                idents.append(stream.next_id)
                stream.send({"method": method, "params": [str(p) for p in params], "id": stream.next_id})
            replies = {}
            while len(replies) < len(idents):
                msg = stream.read()
                if msg.get("id") in idents:
                    replies[msg["id"]] = msg
        except OSError as exc:
            close()
            raise RealizeError(f"ovs-appctl {calls[0][0]}", exc.errno or errno.EIO, str(exc)) from None
    return [None if replies[i].get("error") is not None else (replies[i].get("result") or "") for i in idents]


def try_call(method: str, *params) -> Optional[str]:
    """Run one ovs-appctl command; its output, or None if the daemon refused it."""
    msg = _exchange(method, list(params))
    return None if msg.get("error") is not None else (msg.get("result") or "")


def call(method: str, *params) -> str:
    msg = _exchange(method, list(params))
    if msg.get("error") is not None:
        raise RealizeError(f"ovs-appctl {method} {' '.join(map(str, params))}", 0, str(msg["error"]).strip())
    return msg.get("result") or ""


def revalidated_after(trigger: Callable[[], None]) -> None:
    """Run trigger() (commands that start a revalidation round, such as an FDB change), and return once
    a round has ended after the wait was asked for.  `revalidator/wait` answers at the end of the next
    round; asked first, on a second connection (ovs-vswitchd answers one request per connection at a
    time), the round that trigger() starts is the one it waits for, milliseconds, not the 500 ms of the
    periodic round that a wait asked too late sits out."""
    with _lock:
        _stream()
        if _conn["waiter"] is None:
            _conn["waiter"] = jsonrpc.Stream(os.path.join(_rundir(), f"ovs-vswitchd.{_conn['pid']}.ctl"), TIMEOUT_S)
        waiter = _conn["waiter"]
        waiter.next_id += 1
        ident = waiter.next_id
        try:
            waiter.send({"method": "revalidator/wait", "params": [], "id": ident})
            trigger()
            while waiter.read().get("id") != ident:
                pass
        except OSError as exc:
            close()
            raise RealizeError("ovs-appctl revalidator/wait", exc.errno or errno.EIO, str(exc)) from None
