"""kernel/exec.py: the one way an argv is addressed to a namespace."""
import errno

import pytest

from cloudnet_emu.errors import RealizeError
from cloudnet_emu.kernel import exec as kexec
from cloudnet_emu.kernel import ns


def test_in_netns():
    assert kexec.in_netns("cn-t-pe1", ["ip", "-j", "link"]) == ["ip", "netns", "exec", "cn-t-pe1", "ip", "-j", "link"]
    assert kexec.in_netns(None, ["ip", "-j", "link"]) == ["ip", "-j", "link"]


def test_ns_run_is_exec_run():
    assert ns.run is kexec.run


def test_run_feeds_stdin_and_checks():
    assert kexec.run(["cat"], input="hello").stdout == "hello"
    with pytest.raises(RealizeError):
        kexec.run(["false"])
    assert kexec.run(["false"], check=False).returncode == 1


def test_not_installed():
    with pytest.raises(RealizeError) as exc:
        kexec.run(["cloudnet-no-such-tool"])
    assert exc.value.errno == errno.ENOENT


def test_stop_and_finish():
    proc = kexec.spawn(["sleep", "30"])
    kexec.stop(proc, timeout=5)
    assert proc.returncode is not None
    out, _ = kexec.finish(kexec.spawn(["echo", "hi"]), 5)
    assert out == "hi\n"
