"""OVSDB spoken in-process (RFC 7047 JSON-RPC on $OVS_RUNDIR/db.sock): ports added and removed
without forking ovs-vsctl.

What `ovs-vsctl add-port` / `del-port` do, and no more: one transaction that inserts the
Interface and Port rows (or drops the Port from its Bridge; OVSDB then garbage-collects the
unreferenced rows), bumps Open_vSwitch.next_cfg, and then waits until ovs-vswitchd has applied
it (cur_cfg, watched with a monitor on the same connection), so the port forwards when we return.
One connection per process, reopened after an error.  Bridges, and ports that exist already
(`--may-exist` re-runs), stay with ovs-vsctl (kernel/ovs.py): the transaction refuses a name
that is taken and the caller falls back.
"""
from __future__ import annotations

import errno
import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterable, Optional

from ..errors import RealizeError
from . import jsonrpc

DB = "Open_vSwitch"
TIMEOUT_S = 20
PORT_S = 0.05     # per port added or removed: ovs-vswitchd opens or closes a socket on the device
BRIDGE_S = 3      # per bridge added: a datapath, its local port and tap device; Figure 1's bridges
                  # were once seen to take over 20 s together in the software-emulated VM


def timeout_for(ports: int, bridges: int = 0) -> float:
    """Seconds ovs-vswitchd may take to apply a change adding or removing PORTS ports and adding
    BRIDGES bridges (3000 ports: 170 s; 12 bridges: 56 s)."""
    return TIMEOUT_S + PORT_S * ports + BRIDGE_S * bridges


class Taken(Exception):
    """A port of that name exists already (the caller falls back to ovs-vsctl --may-exist)."""


class _Conn:
    def __init__(self):
        self.stream = jsonrpc.Stream(os.path.join(os.environ.get("OVS_RUNDIR", "/var/run/openvswitch"), "db.sock"),
                                     TIMEOUT_S)
        self.cur_cfg = None
        reply = self.request("monitor", [DB, "cfg", {"Open_vSwitch": {"columns": ["cur_cfg"]}}])
        self._updates(reply)

    def _updates(self, tables: dict):
        for row in tables.get("Open_vSwitch", {}).values():
            if "new" in row and "cur_cfg" in row["new"]:
                self.cur_cfg = row["new"]["cur_cfg"]

    def _read(self) -> dict:
        msg = self.stream.read()
        if msg.get("method") == "update":
            self._updates(msg["params"][1])
        elif msg.get("method") == "echo":
            self.stream.send({"result": msg["params"], "id": msg["id"]})
        return msg

    def request(self, method: str, params: list):
        self.stream.next_id += 1
        ident = self.stream.next_id
        self.stream.send({"method": method, "params": params, "id": ident})
        while True:
            msg = self._read()
            if msg.get("id") == ident and "method" not in msg:
                if msg.get("error") is not None:
                    raise RealizeError(f"ovsdb {method}", errno.EPROTO, str(msg["error"]))
                return msg["result"]

    def wait_cfg(self, target: int, timeout: float = TIMEOUT_S):
        end = time.monotonic() + timeout
        try:
            while self.cur_cfg is None or self.cur_cfg < target:
                left = end - time.monotonic()
                if left <= 0:
                    raise RealizeError("ovs-vswitchd reconfiguration", errno.ETIMEDOUT,
                                       f"cur_cfg {self.cur_cfg} has not reached {target} within {timeout:.0f} s")
                self.stream.sock.settimeout(left)
                self._read()
        except socket.timeout:
            raise RealizeError("ovs-vswitchd reconfiguration", errno.ETIMEDOUT,
                               f"cur_cfg {self.cur_cfg} has not reached {target} within {timeout:.0f} s") from None
        finally:
            self.stream.sock.settimeout(TIMEOUT_S)


_conn: Optional[_Conn] = None
_lock = threading.RLock()     # one transaction at a time on the shared connection (API server threads)
_deferred = threading.local()  # .target: inside deferred(), the highest next_cfg not yet waited for;
                               # .timeout: the time ovs-vswitchd may take to apply all of them


@contextmanager
def deferred():
    """Within it, a transaction does not wait for ovs-vswitchd to apply it: the caller goes on with
    other work (a port's removal takes ovs-vswitchd an RCU grace period per device) and the wait
    happens once, on leaving, for the last of them.  Nested: the outer one waits."""
    if getattr(_deferred, "target", None) is not None:
        yield
        return
    _deferred.target, _deferred.timeout = 0, TIMEOUT_S
    try:
        yield
    except BaseException:
        target, _deferred.target = _deferred.target, None
        try:
            _wait_applied(target, _deferred.timeout)
        except RealizeError:
            pass            # the body's own error says more
        raise
    target, _deferred.target = _deferred.target, None
    _wait_applied(target, _deferred.timeout)


@contextmanager
def _connected(what: str):
    """The shared connection, opened if it is not (after an error it was closed: a new monitor
    reads cur_cfg afresh); a socket or protocol error closes it and is raised as RealizeError."""
    global _conn
    try:
        if _conn is None:
            _conn = _Conn()
        yield _conn
    except (OSError, ValueError) as exc:
        close()
        raise RealizeError(what, getattr(exc, "errno", None) or errno.EIO, str(exc)) from None
    except RealizeError:
        close()
        raise


def _wait_applied(target: int, timeout: float) -> None:
    """Wait until ovs-vswitchd applied configuration TARGET (0: nothing to wait for)."""
    if not target:
        return
    with _lock, _connected("ovsdb wait") as conn:
        conn.wait_cfg(target, timeout)


def sync(timeout: float = TIMEOUT_S) -> None:
    """Return once ovs-vswitchd has applied every change made so far (by anyone: ovs-vsctl
    --no-wait too), waiting up to TIMEOUT seconds: an empty transaction that bumps next_cfg."""
    with _lock, _connected("ovsdb sync") as conn:
        result = conn.request("transact", [DB] + _BUMP)
        conn.wait_cfg(result[-1]["rows"][0]["next_cfg"], timeout)


_BUMP = [{"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": [["next_cfg", "+=", 1]]},
         {"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["next_cfg"]}]


def _transact(ops: list, apply: bool = True, timeout: float = TIMEOUT_S) -> list:
    """Run OPS as one transaction; with `apply`, bump next_cfg in it and wait (up to TIMEOUT s)
    until ovs-vswitchd applied it (what ovs-vsctl waits for).  A failed operation is returned, not
    raised."""
    with _lock:
        fresh = _conn is None
        try:
            return _transact_locked(ops, apply, timeout)
        except RealizeError as exc:
            # A connection kept from before an ovsdb-server restart: try once on a new one (both
            # callers are idempotent: a re-added port is Taken, a removed one is not found).
            if fresh or exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.EIO):
                raise
            return _transact_locked(ops, apply, timeout)


def _transact_locked(ops: list, apply: bool, timeout: float) -> list:
    with _connected("ovsdb transaction") as conn:
        if apply:
            ops = ops + _BUMP
        result = conn.request("transact", [DB] + ops)
        if apply and not _errors(result):
            target = result[-1]["rows"][0]["next_cfg"]
            if getattr(_deferred, "target", None) is not None:
                # ovs-vswitchd applies the deferred changes one after another: their times add up
                _deferred.target = max(_deferred.target, target)
                _deferred.timeout += timeout - TIMEOUT_S
            else:
                conn.wait_cfg(target, timeout)
        return result


def _errors(result: list) -> list[dict]:
    return [r for r in result if isinstance(r, dict) and "error" in r]


def _raise(what: str, errors: list[dict]):
    raise RealizeError(what, errno.EPROTO, "; ".join(f"{e['error']}: {e.get('details', '')}" for e in errors))


def close() -> None:
    global _conn
    if _conn is not None:
        _conn.stream.close()
        _conn = None


def _map(pairs: Iterable[tuple[str, str]]) -> list:
    return ["map", [[k, str(v)] for k, v in pairs]]


def add_ports(ports: list[dict]) -> None:
    """Add ports in one transaction.  Each: {bridge, name, external_ids: {..}, and optionally tag,
    trunks, type ("patch"), peer}.  Raises Taken if any name exists (nothing is changed then)."""
    ops, bridges = [], {}
    for i, p in enumerate(ports):
        ops.append({"op": "wait", "table": "Port", "where": [["name", "==", p["name"]]], "columns": ["name"],
                    "until": "==", "rows": [], "timeout": 0})
        iface = {"name": p["name"]}
        if p.get("type"):
            iface["type"] = p["type"]
        if p.get("peer"):
            iface["options"] = _map([("peer", p["peer"])])
        row = {"name": p["name"], "interfaces": ["named-uuid", f"i{i}"],
               "external_ids": _map(sorted(p["external_ids"].items()))}
        if p.get("tag") is not None:
            row.update(tag=p["tag"], vlan_mode="access")
        elif p.get("trunks"):
            row.update(trunks=["set", list(p["trunks"])], vlan_mode="trunk")
        ops += [{"op": "insert", "table": "Interface", "row": iface, "uuid-name": f"i{i}"},
                {"op": "insert", "table": "Port", "row": row, "uuid-name": f"p{i}"}]
        bridges.setdefault(p["bridge"], []).append(["named-uuid", f"p{i}"])
    first_mutate = len(ops)
    for br, refs in bridges.items():
        ops.append({"op": "mutate", "table": "Bridge", "where": [["name", "==", br]],
                    "mutations": [["ports", "insert", ["set", refs]]]})
    result = _transact(ops, timeout=timeout_for(len(ports)))
    errors = _errors(result)
    if any(e["error"] == "timed out" for e in errors):
        raise Taken(", ".join(p["name"] for p in ports))
    if errors:
        _raise("ovsdb add ports " + ", ".join(p["name"] for p in ports), errors)
    # The mutate results' counts say whether each bridge existed.
    for br, r in zip(bridges, result[first_mutate:first_mutate + len(bridges)]):
        if r.get("count") != 1:
            raise RealizeError(f"ovsdb add-port to {br}", errno.ENODEV, f"no bridge {br}")


def del_ports(names: list[str]) -> None:
    """Remove ports by name from whichever bridge holds them (missing ones are fine)."""
    if not names:
        return
    found = _transact([{"op": "select", "table": "Port", "where": [["name", "==", n]], "columns": ["_uuid"]}
                       for n in names], apply=False)
    uuids = [row["_uuid"][1] for r in found for row in r.get("rows", [])]
    if not uuids:
        return
    result = _transact([{"op": "mutate", "table": "Bridge", "where": [["ports", "includes", ["uuid", u]]],
                         "mutations": [["ports", "delete", ["set", [["uuid", u]]]]]} for u in uuids],
                       timeout=timeout_for(len(uuids)))
    if _errors(result):
        _raise("ovsdb del ports " + ", ".join(names), _errors(result))
