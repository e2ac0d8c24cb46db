"""Property tests (Hypothesis): whatever the input, a valid model or located problems, never a traceback.

The loaders of topologies, scenarios and ACL files, the API request parser and the command-line
value checks are fed generated input: random bytes and text, YAML built from the keys and values
the models know (so the checks past the syntax are reached too), shipped files with bytes cut or
inserted, alias bombs and deep nesting.  The property: the result is the model, or a SpecError
(a click usage error for arguments) whose every problem names the file, a line and column >= 1
and a hint.  Anything else (another exception, RecursionError, a problem with no position) fails.

Budgets: the "ci" profile (default, `make test-unit`) runs a few hundred inputs per property,
derandomized so CI is deterministic; `make fuzz` loads the "fuzz" profile (CLOUDNET_FUZZ=1):
thousands per property, random, its finds kept in .hypothesis/ for replay.  Every input a fuzzer
found goes into tests/unit/corpus with its golden file.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import click
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudnet_emu.api import serve as api
from cloudnet_emu.cli import args as cli_args
from cloudnet_emu.acl.model import Acl
from cloudnet_emu.cli import main
from cloudnet_emu.errors import SpecError
from cloudnet_emu.scenario.model import load_scenario
from cloudnet_emu.spec.load import load_topology, parse_document

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "topologies" / "cloudnet.yaml"
SHIPPED = sorted((REPO / "topologies").glob("*.yaml")) + sorted((REPO / "scenarios").glob("*.yaml"))

settings.register_profile("ci", max_examples=60, derandomize=True, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("fuzz", max_examples=int(os.environ.get("CLOUDNET_FUZZ_EXAMPLES", "3000")),
                          deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("fuzz" if os.environ.get("CLOUDNET_FUZZ") else "ci")

_work: list[Path] = []       # the module's directory for generated files, made on first use


def _file(name: str, data: bytes) -> Path:
    if not _work:
        _work.append(Path(tempfile.mkdtemp(prefix="cloudnet-fuzz-")))
    path = _work[0] / name
    path.write_bytes(data)
    return path


def _located(exc: SpecError, file: str) -> None:
    assert exc.problems, "a SpecError with no problem"
    for p in exc.problems:
        assert p.file == file, p.format()
        assert p.line >= 1 and p.col >= 1, f"no position: {p.format()}"
        assert p.hint.strip(), f"no hint: {p.format()}"


def _load(loader, data: bytes, name: str):
    path = _file(name, data)
    try:
        return loader(str(path))
    except SpecError as exc:
        _located(exc, str(path))
        return None


# ---- generated YAML: the words the models know, in shapes that are sometimes right ----------

WORDS = ["name", "provider", "routers", "role", "pe", "p", "ce", "links", "endpoints", "bw", "delay", "tenants",
         "sites", "subnet", "hosts", "ip", "cloud_sites", "servers", "vcpus", "mem_mb", "vpcs", "tenant", "type",
         "l3vpn", "vpls", "vms", "site", "mac", "acl", "default", "rules", "from", "to", "proto", "port", "action",
         "allow", "deny", "both", "steps", "checks", "topology", "attach", "detach", "migrate", "vm", "vpc",
         "expect", "qos", "reserve", "internet", "pe1", "pe2", "dc1", "dc2", "bravo", "bravo-vpc", "bravo-hq",
         "10.1.1.0/24", "10.1.1.10", "02:00:00:00:00:01", "5ms", "any", "tcp", "icmp", "8000-8099", "<<", "lo"]
scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
           | st.sampled_from(WORDS) | st.text(max_size=12))
keys = st.sampled_from(WORDS) | st.text(max_size=8) | st.integers(-3, 3)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
                      max_leaves=40)


@st.composite
def yaml_documents(draw, top_keys=("name", "provider", "tenants", "cloud_sites", "vpcs")) -> bytes:
    doc = draw(st.dictionaries(st.sampled_from(top_keys) | keys, values, max_size=6))
    if draw(st.booleans()):
        doc.setdefault("name", draw(st.sampled_from(["mini", "x", "Bad_Name", ""])))
    text = yaml.safe_dump(doc, default_flow_style=draw(st.sampled_from([None, True, False])), allow_unicode=True)
    return text.encode()


@st.composite
def aliases(draw) -> bytes:
    """Anchors that repeat each other, some nested deep, some inside themselves."""
    levels = draw(st.integers(1, 12))
    fan = draw(st.integers(1, 12))
    lines = [f"a0: &a0 {draw(st.sampled_from(['x', '[x, x]', '{k: v}', '[' * 30 + ']' * 30]))}"]
    for i in range(1, levels):
        refs = ", ".join(f"*a{draw(st.integers(0, i))}" for _ in range(fan))   # *a{i}: inside itself
        opening, closing = draw(st.sampled_from([("[", "]"), ("{k: [", "]}"), ("{<<: [", "]}")]))
        lines.append(f"a{i}: &a{i} {opening}{refs}{closing}")
    lines.append(f"name: *a{draw(st.integers(0, levels - 1))}")
    return ("\n".join(lines) + "\n").encode()


@st.composite
def mutated(draw, files=SHIPPED) -> bytes:
    """A shipped file with a slice cut out, bytes put in, or a line repeated."""
    data = draw(st.sampled_from(files)).read_bytes()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(data)))
        j = draw(st.integers(i, min(len(data), i + 40)))
        how = draw(st.sampled_from(["cut", "insert", "replace", "repeat"]))
        junk = draw(st.binary(max_size=8) | st.sampled_from([b"[", b"{", b"&a", b"*a", b": ", b"\n  ", b"\t",
                                                             b"- ", b"!!python/object ", b"\xff", b"\x00", b"<<: "]))
        data = {"cut": data[:i] + data[j:], "insert": data[:i] + junk + data[i:],
                "replace": data[:i] + junk + data[j:], "repeat": data[:j] + data[i:j] * 50 + data[j:]}[how]
    return data


def deep(depth=st.integers(60, 3000)):
    """Flow collections nested around the 64-level limit and far beyond; sometimes unbalanced."""
    pairs = st.sampled_from([(b"[", b"]"), (b"{a: ", b"}"), (b"[", b"}")])
    return st.builds(lambda n, pair: b"name: x\nprovider: " + pair[0] * n + b"1" + pair[1] * n + b"\n", depth, pairs)


topology_inputs = (yaml_documents() | aliases() | mutated() | deep() | st.binary(max_size=300)
                   | st.text(max_size=300).map(str.encode))


@given(topology_inputs)
def test_topology_loader_gives_a_model_or_located_problems(data):
    _load(load_topology, data, "topology.yaml")


@st.composite
def scenario_documents(draw) -> bytes:
    steps = draw(st.lists(st.dictionaries(st.sampled_from(["attach", "detach", "migrate", "acl", "expect", "wait"])
                                          | keys, values, min_size=1, max_size=2), max_size=4))
    doc = {"name": "s", "topology": str(REFERENCE), "steps": steps}
    if draw(st.booleans()):
        doc["checks"] = draw(st.lists(values, max_size=3))
    return yaml.safe_dump(doc, default_flow_style=draw(st.booleans())).encode()


@given(scenario_documents() | mutated([p for p in SHIPPED if p.parent.name == "scenarios"]) | aliases())
def test_scenario_loader_gives_a_model_or_located_problems(data):
    data = data.replace(b"../topologies/", str(REPO / "topologies").encode() + b"/")   # shipped files, elsewhere
    _load(load_scenario, data, "scenario.yaml")


rule = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["pg", "r1", "Bad Name", "x" * 30]) | scalars, "from": st.sampled_from(WORDS) | values,
    "to": st.sampled_from(WORDS) | values, "proto": st.sampled_from(["tcp", "udp", "icmp", "any", "gre"]) | scalars,
    "port": st.sampled_from([5432, "8000-8099", "99-1", 0, 70000, [], [22, "80-81"]]) | values,
    "action": st.sampled_from(["allow", "deny", "drop"]) | scalars, "both": scalars})


@given(st.fixed_dictionaries({}, optional={"default": st.sampled_from(["allow", "deny"]) | scalars,
                                           "rules": st.lists(rule, max_size=4) | values}).map(
    lambda d: yaml.safe_dump(d).encode()) | st.binary(max_size=200) | aliases())
def test_acl_rule_parser_gives_rules_or_located_problems(data):
    def load(path):
        from cloudnet_emu.spec.bounds import read_spec
        return parse_document(read_spec(path), path, Acl, lambda a: [], "an ACL file is a mapping", "scenarios/acl.yaml")
    _load(load, data, "acl.yaml")


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                       max_size=4), max_leaves=20)
requests = st.fixed_dictionaries({"op": st.sampled_from(list(api.OPS) + ["boot"]) | json_values}, optional={
    "id": json_values, "vpc": st.sampled_from(["bravo-vpc", "Bad_Name"]) | json_values, "vm": json_values,
    "to": st.sampled_from(["dc2", "dc2/dc2-s1", "/", "a/b/c"]) | json_values, "vcpus": json_values,
    "pause_ms": json_values, "site": json_values, "mac": json_values, "ip": json_values, "policy": json_values})
lines = (requests.map(json.dumps) | json_values.map(json.dumps) | st.text(max_size=200)
         | st.integers(60, 100000).map(lambda n: "[" * n + "]" * n)
         | st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")))


@given(lines)
def test_api_request_parser_gives_a_request_or_located_problems(line):
    try:
        rid, op, body = api.parse(line, "<socket client 1>", 7)
    except SpecError as exc:
        _located(exc, "<socket client 1>")
        assert all(p.line == 7 for p in exc.problems)
        return
    assert op in api.OPS


@given(lines)
def test_api_handle_always_replies_in_json(line):
    reply = api.handle(line, "nosuch-fuzz-testbed", "<stdin>", 1)   # no testbed: valid requests are refused
    assert json.loads(json.dumps(reply, default=str))["ok"] is False
    assert reply["error"]["kind"] in ("bad-request", "state") and reply["error"]["exit"] in (1, 2)


ARG_TYPES = [cli_args.MAC, cli_args.IPV4, cli_args.VM_NAME, cli_args.DESTINATION, cli_args.REALIZE,
             cli_args.POSITIVE, cli_args.VLAN]
argument_text = (st.text(max_size=40) | st.sampled_from(["02:00:00:00:00:01", "10.1.1.1", "dc2/dc2-s1", "web",
                                                         "vpls=bridge", "l3vpn=ovs,vpls=x", "4094", "0", "-1",
                                                         "1e3", "dc2//", "Web"]))


@given(st.sampled_from(ARG_TYPES), argument_text)
def test_cli_value_checks_give_a_value_or_a_usage_error(kind, text):
    try:
        kind.convert(text, None, None)
    except click.BadParameter as exc:
        assert exc.exit_code == 2 and exc.format_message().strip()


@given(st.lists(topology_inputs, min_size=1, max_size=3), st.lists(st.sampled_from(["--json", "-x", "--", "-"]),
                                                                     max_size=2))
@settings(max_examples=500 if os.environ.get("CLOUDNET_FUZZ") else 20)
def test_cli_validate_exits_0_or_2_and_prints_no_traceback(files, flags):
    from click.testing import CliRunner
    paths = []
    for i, data in enumerate(files):
        paths.append(str(_file(f"cli{i}.yaml", data)))
    result = CliRunner().invoke(main, ["validate", *flags, *paths])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@pytest.fixture(scope="module", autouse=True)
def _work_dir_goes():
    yield
    if _work:
        shutil.rmtree(_work.pop())
