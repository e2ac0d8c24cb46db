"""Running testbeds: one directory per testbed under /run/cloudnet-emu (root only).

    /run/cloudnet-emu/<testbed>/state.json   what was built: namespaces, OVS bridges,
                                             realizations, degradations, addresses
    /run/cloudnet-emu/<testbed>/lock         flock held by whoever changes the testbed

state.json is written before the first kernel object exists (status "building"),
so a crash at any point leaves a record `clean` and `down` can act on.  The
directory is mode 0700: whoever can read it can run commands as root via `exec`.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from typing import Optional

from .errors import StateError
from .naming import STATE_ROOT
from .world import World


def _dir(testbed: str) -> str:
    return os.path.join(STATE_ROOT, testbed)


def _private(path: str) -> None:
    """0700, or 0710 where a daemon group was let through (share_with): traverse, never list."""
    os.chmod(path, 0o710 if os.stat(path).st_gid != 0 else 0o700)


def share_with(testbed: str, gid: int) -> None:
    """Let group GID (FRR's daemons, which drop root) reach files under the testbed's directory."""
    os.makedirs(_dir(testbed), mode=0o700, exist_ok=True)
    for path in (STATE_ROOT, _dir(testbed)):
        os.chown(path, 0, gid)
        _private(path)


def unshare() -> None:
    """Back to root-only once no testbed needs a daemon group."""
    if os.path.isdir(STATE_ROOT):
        os.chown(STATE_ROOT, 0, 0)
        _private(STATE_ROOT)


def daemon_dir(testbed: str, *parts: str) -> str:
    """Where a testbed's routing daemons keep their files: <testbed dir>/frr/<router>."""
    return os.path.join(_dir(testbed), "frr", *parts)


def write(testbed: str, data: dict) -> None:
    os.makedirs(STATE_ROOT, mode=0o700, exist_ok=True)
    _private(STATE_ROOT)
    os.makedirs(_dir(testbed), mode=0o700, exist_ok=True)
    path = os.path.join(_dir(testbed), "state.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, default=str)
    os.replace(tmp, path)


def read(testbed: str) -> Optional[dict]:
    try:
        with open(os.path.join(_dir(testbed), "state.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise StateError(f"state of testbed {testbed!r} is unreadable ({exc}); run `cloudnet-emu clean`") from None


def world(record: dict) -> World:
    """The typed description in a record (its `info`; an empty world while a record has none yet)."""
    return World.from_info(record.get("info") or {})


def remove(testbed: str) -> None:
    shutil.rmtree(_dir(testbed), ignore_errors=True)


def forget_remains(testbed: str) -> None:
    """Empty the testbed's directory but for its lock (held by the caller): what a testbed that is not
    up left there (its managers' ledgers, FRR's files, after a crash or a deleted state file) must
    not be taken by the next `up` for its own: a ledger unit found there is "built" and not built again."""
    for entry in os.listdir(_dir(testbed)):
        path = os.path.join(_dir(testbed), entry)
        if entry == "lock":
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def running() -> list[str]:
    try:
        return sorted(d for d in os.listdir(STATE_ROOT)
                      if os.path.isfile(os.path.join(STATE_ROOT, d, "state.json")))
    except FileNotFoundError:
        return []


def resolve(name: Optional[str]) -> str:
    """The testbed a command acts on: NAME, or the only one running."""
    names = running()
    if name:
        if name not in names:
            raise StateError(f"no testbed named {name!r} is running"
                             + (f" (running: {', '.join(names)})" if names else ""))
        return name
    if not names:
        raise StateError("no testbed is running: start one with `sudo cloudnet-emu up TOPOLOGY --detach`")
    if len(names) > 1:
        raise StateError(f"several testbeds are running ({', '.join(names)}): name one with --testbed")
    return names[0]


@contextmanager
def locked(testbed: str, wait: float = 0):
    """Hold the testbed's lock; refuse at once (wait=0, the CLI) or wait up to WAIT seconds (the API)."""
    os.makedirs(_dir(testbed), mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(_dir(testbed), "lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
                raise StateError(f"testbed {testbed!r} is being changed by another cloudnet-emu process; "
                                 "wait for it, or run `cloudnet-emu clean` if that process died") from None
        yield
    finally:
        os.close(fd)
