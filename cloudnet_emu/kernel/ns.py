"""Named network namespaces, created and entered in-process.

A namespace is a bind mount of a netns inode on /run/netns/NAME, exactly what
`ip netns add` makes, so `ip netns exec` and our own tools see the same thing.
We create it from a short-lived thread that unshare()s: the main thread never
changes namespace, and a netlink socket opened inside the namespace stays bound
to it after the thread ends (about 1.5 ms per namespace, against 10-15 ms for a
fork per namespace).
"""
from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import threading
import time
from typing import Callable, Optional, TypeVar

from pyroute2 import IPRoute

from ..errors import RealizeError
from .exec import run  # noqa: F401 (ns.run: the callers' name for exec.run)
from .rtnl import Handle

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
MS_REC, MS_BIND, MS_SHARED = 0x4000, 0x1000, 1 << 20
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


def _check(rc: int, op: str):
    if rc != 0:
        e = ctypes.get_errno()
        raise RealizeError(op, e, os.strerror(e))


def _in_thread(fn: Callable[[], T]) -> T:
    out: dict = {}

    def body():
        try:
            out["r"] = fn()
        except BaseException as exc:   # re-raised in the caller's thread
            out["e"] = exc

    t = threading.Thread(target=body)
    t.start()
    t.join()
    if "e" in out:
        raise out["e"]
    return out.get("r")


def _mount(src: Optional[str], dst: str, flags: int, op: str):
    _check(_libc.mount(src.encode() if src else None, dst.encode(), b"none", flags, None), op)


def _prepare_dir():
    """/run/netns must be a shared mount point, as iproute2 arranges it."""
    os.makedirs(NETNS_DIR, exist_ok=True)
    if _libc.mount(b"none", NETNS_DIR.encode(), b"none", MS_SHARED | MS_REC, None) == 0:
        return
    if ctypes.get_errno() != errno.EINVAL:
        _check(-1, f"mount --make-shared {NETNS_DIR}")
    _mount(NETNS_DIR, NETNS_DIR, MS_BIND | MS_REC, f"mount --bind {NETNS_DIR}")
    _mount("none", NETNS_DIR, MS_SHARED | MS_REC, f"mount --make-shared {NETNS_DIR}")


_dir_ready = False


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, name))


def create(name: str, sysctls: list[tuple[str, object]] = (), handle: bool = False) -> Optional[Handle]:
    """Create namespace NAME; an existing one is reused (idempotent).  Then, from the same thread
    (an entry into a namespace is a thread, the main cost of a small one), write SYSCTLS inside it
    and, with `handle`, return an rtnl_fast() handle bound to it."""
    global _dir_ready
    if not _dir_ready:
        _prepare_dir()
        _dir_ready = True
    path = os.path.join(NETNS_DIR, name)

    def inside() -> Optional[Handle]:
        _write_sysctls(sysctls)
        return _handle_here() if handle else None

    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    except FileExistsError:
        if os.path.ismount(path):
            return enter(name, inside) if sysctls or handle else None
    except OSError as exc:
        raise RealizeError(f"create {path}", exc.errno, exc.strerror) from None

    def unshare_and_bind():
        _check(_libc.unshare(CLONE_NEWNET), f"unshare for netns {name}")
        _mount("/proc/thread-self/ns/net", path, MS_BIND, f"bind netns {name}")
        return inside()

    try:
        return _in_thread(unshare_and_bind)
    except RealizeError:
        _unmount(name)          # bound already if a sysctl failed; else only the file to remove
        raise


def pids(name: str) -> list[int]:
    """Processes whose network namespace is NAME."""
    try:
        target = os.stat(os.path.join(NETNS_DIR, name)).st_ino
    except FileNotFoundError:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/net").st_ino == target:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def delete(name: str) -> None:
    """Kill the processes inside NAME, then remove it (missing is fine)."""
    delete_many([name])


def delete_many(names: list[str]) -> None:
    """Kill the processes inside the namespaces (one pass over /proc), then remove them."""
    inodes = {}
    for name in names:
        try:
            inodes[os.stat(os.path.join(NETNS_DIR, name)).st_ino] = name
        except FileNotFoundError:
            pass
    if inodes:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.stat(f"/proc/{entry}/ns/net").st_ino in inodes:
                        os.kill(int(entry), signal.SIGKILL)
                except (OSError, ProcessLookupError):
                    continue
    for name in names:
        _unmount(name)


def delete_links(names: list[str]) -> None:
    """Delete root-namespace links (gone already is fine)."""
    if not names:
        return
    ip = IPRoute()
    try:
        for name in names:
            found = ip.link_lookup(ifname=name)
            if found:
                try:
                    ip.link("del", index=found[0])
                except Exception:   # NetlinkError ENODEV: its peer's namespace took it meanwhile
                    pass
    finally:
        ip.close()


def _unmount(name: str) -> None:
    path = os.path.join(NETNS_DIR, name)
    if os.path.ismount(path):
        _check(_libc.umount2(path.encode(), MNT_DETACH), f"umount netns {name}")
    _remove_file(path)


def _remove_file(path: str):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def listing() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def enter(name: str, fn: Callable[[], T]) -> T:
    """Run fn in a thread inside namespace NAME (sockets and /proc/sys opened there stay there)."""
    def inside():
        fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
        try:
            _check(_libc.setns(fd, CLONE_NEWNET), f"setns {name}")
        finally:
            os.close(fd)
        return fn()
    return _in_thread(inside)


def rtnl(name: Optional[str]) -> IPRoute:
    """An rtnetlink handle bound to namespace NAME (None: the root namespace)."""
    if name is None:
        return IPRoute()
    sock = enter(name, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 0))
    return IPRoute(use_socket=sock)


def _handle_here() -> Handle:
    """A kernel/rtnl.py handle on the sockets of the calling thread's namespace."""
    return Handle(socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 0),
                  socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 0),
                  socket.socket(socket.AF_INET, socket.SOCK_DGRAM))


def rtnl_fast(name: Optional[str]) -> Handle:
    """Like rtnl(), but its commonest requests go straight to the socket (kernel/rtnl.py)."""
    return _handle_here() if name is None else enter(name, _handle_here)


def sysctl(name: Optional[str], key: str, value) -> None:
    """Write net.* sysctl KEY (dotted or slashed) inside namespace NAME."""
    sysctls(name, [(key, value)])


def sysctls(name: Optional[str], items: list[tuple[str, object]]) -> None:
    """Write several sysctls inside namespace NAME, entering it once."""
    if name is None:
        _write_sysctls(items)
    else:
        enter(name, lambda: _write_sysctls(items))


def _write_sysctls(items) -> None:
    """Write sysctls in the calling thread's namespace."""
    for key, value in items:
        # dotted keys (net.ipv4.ip_forward) or slashed ones, which may hold interface names with dots
        path = "/proc/sys/" + (key if "/" in key else key.replace(".", "/"))
        try:
            with open(path, "w") as f:
                f.write(str(value))
        except OSError as exc:
            raise RealizeError(f"sysctl {key}={value}", exc.errno, exc.strerror) from None


def wait_for(pred: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()
