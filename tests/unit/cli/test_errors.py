"""Bad command-line arguments: one line `error: ...` saying what is wrong and what to do, exit 2.

These need no root and no testbed: values are refused as the command line is parsed,
before the root check (cli/args.py); the root check and the testbed lookup come before
anything is touched.  Errors that need a running testbed (unknown VM, site, server,
node) are in tests/integration/test_cli_errors.py.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cloudnet_emu import state
from cloudnet_emu.cli import main

REPO = Path(__file__).resolve().parents[3]


def run(argv):
    result = CliRunner().invoke(main, argv, prog_name="cloudnet-emu")
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        f"traceback for {argv}: {result.exception!r}"
    return result


def usage(cmd: str, text: str) -> str:
    return f"error: {text} (see `cloudnet-emu {cmd} --help`)\n"


BAD_VALUES = [
    (["vm", "attach", "v", "--vcpus", "two"], usage("vm attach", "Invalid value for '--vcpus': 'two' is not a whole "
                                                                 "number (at least 1)")),
    (["vm", "attach", "v", "--vcpus", "0"], usage("vm attach", "Invalid value for '--vcpus': '0' is not a whole "
                                                               "number (at least 1)")),
    (["vm", "attach", "v", "--mem", "-512"], usage("vm attach", "Invalid value for '--mem': '-512' is not a whole "
                                                                "number (at least 1)")),
    (["vm", "attach", "v", "--mac", "02:AA:BB:CC:DD:EE"],
     usage("vm attach", "Invalid value for '--mac': '02:AA:BB:CC:DD:EE' is not a MAC: write six lower-case hex "
                        "pairs, e.g. 02:00:00:00:00:01")),
    (["vm", "attach", "v", "--ip", "10.1.100.5/24"],
     usage("vm attach", "Invalid value for '--ip': '10.1.100.5/24' is not an IPv4 address: write a bare address, "
                        "e.g. 10.1.100.20 (the prefix length comes from the VPC's subnet)")),
    (["vm", "attach", "v", "--name", "Web_1"],
     usage("vm attach", "Invalid value for '--name': 'Web_1': use lower-case letters, digits and '-', starting "
                        "with a letter, at most 11 characters")),
    (["vm", "attach", "v", "--policy", "random"],
     usage("vm attach", "Invalid value for '--policy': 'random' is not one of 'first-fit', 'best-fit', "
                        "'worst-fit', 'nearest'.")),
    (["vm", "attach"], usage("vm attach", "Missing argument 'VPC'.")),
    (["vm", "migrate", "a1"], usage("vm migrate", "Missing option '--to'.")),
    (["vm", "migrate", "a1", "--to", "dc2/"],
     usage("vm migrate", "Invalid value for '--to': 'dc2/' is not SITE or SITE/SERVER: write e.g. dc2 or dc2/dc2-s1")),
    (["vm", "migrate", "a1", "--to", "dc2/dc2-s1/x"],
     usage("vm migrate", "Invalid value for '--to': 'dc2/dc2-s1/x' is not SITE or SITE/SERVER: write e.g. dc2 or "
                         "dc2/dc2-s1")),
    (["vm", "migrate", "a1", "--to", "dc2", "--pause-ms", "-1"],
     usage("vm migrate", "Invalid value for '--pause-ms': -1.0 is not in the range 0<=x<=60000.")),
    (["vpc", "create", "x", "--tenant", "acme", "--type", "l3vpn", "--vlan", "4095"],
     usage("vpc create", "Invalid value for '--vlan': '4095' is not a VLAN id (1-4094)")),
    (["vpc", "create", "x", "--tenant", "acme", "--type", "vrf"],
     usage("vpc create", "Invalid value for '--type': 'vrf' is not one of 'l3vpn', 'vpls'.")),
    (["capture", "pe1:p1", "-c", "0"], usage("capture", "Invalid value for '-c': '0' is not a whole number "
                                                        "(at least 1)")),
    (["plan", "topologies/cloudnet.yaml", "--realize", "router=vrf2"],
     usage("plan", "Invalid value for '--realize': unknown realization 'vrf2' for router (router can be: vrf, "
                   "netns)")),
    (["up", "topologies/cloudnet.yaml", "--realize", "switch=ovs"],
     usage("up", "Invalid value for '--realize': unknown construct 'switch' (constructs: router, core, datapath, control)")),
    (["doctor", "--realize", "core"],
     usage("doctor", "Invalid value for '--realize': unknown realization '' for core (core can be: mpls, vxlan)")),
    (["demo", "--realize", "datapath=kernel"],
     usage("demo", "Invalid value for '--realize': unknown realization 'kernel' for datapath (datapath can be: "
                   "system, netdev-tso, netdev)")),
    (["frobnicate"], "error: No such command 'frobnicate'. (see `cloudnet-emu --help`)\n"),
    (["up"], usage("up", "Missing argument 'TOPOLOGY'.")),
]


@pytest.mark.parametrize("argv, line", BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_bad_value_is_one_line_and_exit_2(argv, line, monkeypatch):
    monkeypatch.chdir(REPO)
    result = run(argv)
    assert (result.exit_code, result.stderr) == (2, line)
    assert result.stdout == ""


ROOT_ONLY = [["up", "topologies/cloudnet.yaml"], ["down"], ["clean"], ["check"], ["demo"],
             ["vm", "attach", "bravo-vpc"], ["vm", "detach", "b1"], ["vm", "migrate", "b1", "--to", "dc2"],
             ["vpc", "create", "x", "--tenant", "acme", "--type", "vpls"], ["vpc", "delete", "x"],
             ["exec", "pe1", "--", "true"], ["capture", "pe1:p1"], ["run", "scenarios/attach.yaml"]]
NOT_ROOT = "error: this command builds or inspects network namespaces: run it as root (sudo cloudnet-emu ...)\n"


@pytest.mark.parametrize("argv", ROOT_ONLY, ids=[" ".join(a) for a in ROOT_ONLY])
def test_not_root_is_one_line_and_exit_2(argv, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = run(argv)
    assert (result.exit_code, result.stderr) == (2, NOT_ROOT)


def test_run_validates_the_scenario_before_asking_for_root(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    bad = tmp_path / "s.yaml"
    bad.write_text(f"name: s\ntopology: {REPO}/topologies/cloudnet.yaml\nsteps:\n  - detach: {{vm: b1}}\n")
    result = run(["run", str(bad)])
    assert result.exit_code == 2
    assert result.stderr == (f"{bad}:4:18: VM 'b1' is not attached by an earlier step (at steps.0.detach.vm)\n"
                             "    hint: known VMs at this step: none; name VMs with attach: {name: ...}\n"
                             "1 problem(s); nothing was built.\n")


NEEDS_TESTBED = [["down"], ["check"], ["inspect"], ["vm", "list"], ["vpc", "list"], ["vm", "detach", "b1"],
                 ["vm", "attach", "bravo-vpc"], ["vm", "migrate", "b1", "--to", "dc2"], ["vpc", "delete", "x"],
                 ["exec", "pe1", "--", "true"], ["capture", "pe1:p1"]]


@pytest.fixture
def no_testbed(tmp_path, monkeypatch):
    """An empty state directory, as root (the testbed lookup comes after the root check)."""
    monkeypatch.setattr(state, "STATE_ROOT", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    return tmp_path


@pytest.mark.parametrize("argv", NEEDS_TESTBED, ids=[" ".join(a) for a in NEEDS_TESTBED])
def test_no_testbed_running(argv, no_testbed):
    result = run(argv)
    assert (result.exit_code, result.stderr) == (
        2, "error: no testbed is running: start one with `sudo cloudnet-emu up TOPOLOGY --detach`\n")


@pytest.mark.parametrize("argv", [["down", "nope"], ["inspect", "nope"], ["vm", "list", "-t", "nope"],
                                  ["vm", "detach", "b1", "--testbed", "nope"],
                                  ["run", f"{REPO}/scenarios/attach.yaml", "--testbed", "nope"]],
                         ids=lambda a: " ".join(a))
def test_unknown_testbed_names_the_running_ones(argv, no_testbed):
    for name in ("lab-a", "lab-b"):
        (no_testbed / name).mkdir()
        (no_testbed / name / "state.json").write_text(json.dumps({"testbed": name}))
    result = run(argv)
    assert (result.exit_code, result.stderr) == (2, "error: no testbed named 'nope' is running (running: lab-a, "
                                                    "lab-b)\n")


def test_several_testbeds_need_a_name(no_testbed):
    for name in ("lab-a", "lab-b"):
        (no_testbed / name).mkdir()
        (no_testbed / name / "state.json").write_text(json.dumps({"testbed": name}))
    result = run(["vm", "detach", "b1"])
    assert (result.exit_code, result.stderr) == (
        2, "error: several testbeds are running (lab-a, lab-b): name one with --testbed\n")


def test_missing_files(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    for argv in (["validate", str(tmp_path / "no.yaml")], ["plan", str(tmp_path / "no.yaml")],
                 ["run", str(tmp_path / "no.yaml")], ["validate", str(tmp_path)]):
        result = run(argv)
        assert result.exit_code == 2, argv
        what = "Is a directory" if argv[1] == str(tmp_path) else "No such file or directory"
        assert result.stderr == (f"{argv[1]}: cannot read file: {what}\n    hint: check the path\n"
                                 "1 problem(s); nothing was built.\n"), argv


def test_version():
    from importlib.metadata import version
    result = run(["--version"])
    assert (result.exit_code, result.output) == (0, f"cloudnet-emu {version('cloudnet-emu')}\n")


def test_web_port_out_of_range_is_one_line():
    result = run(["web", "--port", "70000"])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "not a TCP port (0-65535)" in result.output
