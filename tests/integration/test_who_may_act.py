"""Who may act: an unprivileged user (nobody) can neither read the testbeds' state, nor talk to the API
socket, nor change the testbed; each refusal is one line; the testbed is exactly as before."""
from __future__ import annotations

import grp
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pytest

from cloudnet_emu import naming, pipeline, state

REPO = Path(__file__).resolve().parents[2]
NOBODY = "nobody"


def _as_nobody(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", NOBODY, "--", "env", "-i", "PATH=/usr/bin:/bin", "HOME=/nonexistent",
                           f"PYTHONPATH={REPO}:{sysconfig.get_paths()['purelib']}", *argv],
                          capture_output=True, text=True, timeout=120, **kw)


def _python() -> str:
    """An interpreter nobody may run, of this Python's version (ours may live under root's home)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, shutil.which(version) or "", f"/usr/bin/{version}"):
        if candidate and _as_nobody([candidate, "-c", "import cloudnet_emu.cli"]).returncode == 0:
            return candidate
    pytest.fail(f"no {version} interpreter that user {NOBODY} can run with cloudnet_emu importable")


def _snapshot(tb: str) -> dict:
    cloud, _ = pipeline.managers(tb)
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    netns = sorted(line.split()[0] for line in listing.splitlines())    # not "(id: N)": the kernel assigns it lazily
    return {"state": state.read(tb), "vms": cloud.vms(), "netns": netns}


def test_nobody_can_neither_read_nor_talk_nor_change(testbed, cli):
    tb = testbed["testbed"]
    pipeline.managers(tb)[0].attach(vpc="bravo-vpc", site="dc1", name="mine")
    python = _python()
    sock_dir = Path(tempfile.mkdtemp(prefix="cn-api-"))
    os.chmod(sock_dir, 0o755)        # only the socket's own mode may keep nobody out
    sock = sock_dir / "api.sock"
    server = subprocess.Popen([cli, "api", "--testbed", tb, "--socket", str(sock)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not sock.exists() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sock.exists(), server.stderr.read()
        st = sock.stat()
        assert (st.st_mode & 0o777, st.st_uid) == (0o600, 0)
        root = os.stat(naming.STATE_ROOT)
        if testbed["realizations"]["control"] == "bgp":     # FRR's group may traverse to its files, never list
            assert (root.st_mode & 0o777, root.st_uid, root.st_gid) == (0o710, 0, grp.getgrnam("frr").gr_gid)
        else:
            assert (root.st_mode & 0o777, root.st_uid) == (0o700, 0)
        before = _snapshot(tb)

        probe = _as_nobody([python, "-c", f"""
import os, socket
for what, act in [("list", lambda: os.listdir({naming.STATE_ROOT!r})),
                  ("state", lambda: open({os.path.join(naming.STATE_ROOT, tb, 'state.json')!r}).read()),
                  ("socket", lambda: socket.socket(socket.AF_UNIX).connect({str(sock)!r}))]:
    try:
        act()
        print(what, "allowed")
    except PermissionError:
        print(what, "refused")
"""])
        assert probe.stdout.split("\n")[:3] == ["list refused", "state refused", "socket refused"], probe

        vm = "mine"
        refused = [["up", str(REPO / "topologies" / "cloudnet.yaml"), "--detach"], ["down", tb], ["clean"],
                    ["vm", "attach", "bravo-vpc", "--site", "dc1", "-t", tb], ["vm", "detach", vm, "-t", tb],
                    ["vm", "migrate", vm, "--to", "dc2", "-t", tb], ["vpc", "delete", "bravo-vpc", "-t", tb],
                    ["acl", "clear", "bravo-vpc", "-t", tb], ["reserve", "release", "r1", "-t", tb],
                    ["api", "--testbed", tb], ["exec", "-t", tb, "pe1", "--", "true"],
                    ["run", str(REPO / "scenarios" / "attach.yaml")], ["check", tb], ["inspect", tb],
                    ["vm", "list", "-t", tb], ["plan", str(REPO / "topologies" / "cloudnet.yaml")], ["doctor"]]
        for args in refused:
            res = _as_nobody([python, "-m", "cloudnet_emu", *args], input="")
            lines = res.stderr.splitlines()
            assert res.returncode == 2 and len(lines) == 1, (args, res.returncode, res.stderr)
            assert lines[0].startswith("error: ") and "root" in lines[0], (args, lines)
            assert res.stdout == "", (args, res.stdout)
        assert _snapshot(tb) == before
    finally:
        server.terminate()
        server.wait(60)
        shutil.rmtree(sock_dir, ignore_errors=True)
    assert server.returncode == 0, server.stderr.read()
