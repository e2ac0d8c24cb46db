"""Focused tests of the topology layer: positions, did-you-mean, the load pipeline,
link shaping values, host addressing and the JSON Schema."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from cloudnet_emu.cli import main
from cloudnet_emu.errors import Problem, SpecError
from cloudnet_emu.plan.addressing import host_addresses
from cloudnet_emu.spec import load as load_mod
from cloudnet_emu.spec.checks import _near, _ref_hint
from cloudnet_emu.spec.load import load_topology, parse_topology
from cloudnet_emu.spec.model import LinkProps, Topology
from cloudnet_emu.spec.yamlpos import load_yaml, locate

REPO = Path(__file__).resolve().parents[2]


def doc(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def problems(text: str) -> list[Problem]:
    with pytest.raises(SpecError) as info:
        parse_topology(doc(text), "t.yaml")
    return info.value.problems


MINI = """
name: mini
provider:
  routers:
    - {name: pe1, role: pe}
    - {name: pe2, role: pe}
  links:
    - {endpoints: [pe1, pe2]}
tenants:
  - name: acme
    sites:
      - name: acme-hq
        pe: pe1
        subnet: 10.1.1.0/24
        hosts: [{name: acme-h1}, {name: acme-h2, ip: 10.1.1.9}]
"""


# ---------------------------------------------------------------- yamlpos

class TestPositions:
    TEXT = doc("""
        # comment
        name: mini
        provider:
          routers:
            - name: pe1
              role: pe
            - {name: p1, role: p}
          links:
            - endpoints:
                - pe1
                - p1
            - {endpoints: [p1, pe1], bw: 10}
        """)

    def setup_method(self):
        self.data, self.pos, self.problems = load_yaml(self.TEXT, "f.yaml")

    def test_data_is_plain(self):
        assert self.problems == []
        assert self.data["provider"]["routers"][1] == {"name": "p1", "role": "p"}
        assert self.data["provider"]["links"][0]["endpoints"] == ["pe1", "p1"]

    def test_root_is_where_the_mapping_starts(self):
        assert self.pos[()] == (2, 1)          # after the comment line

    def test_keys_are_recorded_at_the_key(self):
        assert self.pos[("name",)] == (2, 1)
        assert self.pos[("provider",)] == (3, 1)
        assert self.pos[("provider", "routers")] == (4, 3)
        assert self.pos[("provider", "routers", 0, "role")] == (6, 7)

    def test_a_mapping_value_is_located_at_its_key_not_its_value(self):
        # `name: mini`: the value starts in column 7, the recorded position is the key's.
        assert self.pos[("name",)] == (2, 1)
        # flow mapping in a list item: key `role` at column 18, value `p` at 24
        assert self.pos[("provider", "routers", 1, "role")] == (7, 18)

    def test_list_items_are_recorded_at_the_item(self):
        assert self.pos[("provider", "routers", 0)] == (5, 7)      # block item: its first key
        assert self.pos[("provider", "routers", 1)] == (7, 7)      # flow item: its '{'
        assert self.pos[("provider", "links", 0, "endpoints", 0)] == (10, 11)
        assert self.pos[("provider", "links", 0, "endpoints", 1)] == (11, 11)

    def test_nested_flow_lists(self):
        assert self.pos[("provider", "links", 1)] == (12, 7)
        assert self.pos[("provider", "links", 1, "endpoints")] == (12, 8)
        assert self.pos[("provider", "links", 1, "endpoints", 0)] == (12, 20)
        assert self.pos[("provider", "links", 1, "endpoints", 1)] == (12, 24)
        assert self.pos[("provider", "links", 1, "bw")] == (12, 30)

    def test_locate_falls_back_to_the_nearest_ancestor(self):
        assert locate(self.pos, ("provider", "routers", 0, "asn")) == (5, 7)
        assert locate(self.pos, ("provider", "pools", "core")) == (3, 1)
        assert locate(self.pos, ("tenants",)) == (2, 1)
        assert locate(self.pos, ()) == (2, 1)
        assert locate({}, ("anything", 0)) == (1, 1)

    def test_duplicate_key_points_at_the_second_key(self):
        data, pos, probs = load_yaml("a: 1\nb:\n  c: 2\n  c: 3\n", "f.yaml")
        assert len(probs) == 1
        p = probs[0]
        assert (p.line, p.col, p.path) == (4, 3, ("b", "c"))
        assert "first defined on line 3" in p.message
        assert data == {"a": 1, "b": {"c": 2}}       # the first value is kept

    def test_syntax_error_has_a_position(self):
        data, pos, probs = load_yaml("a: [1, 2\nb: 3\n", "f.yaml")
        assert data is None
        assert len(probs) == 1 and probs[0].line == 2 and probs[0].col >= 1
        assert probs[0].message.startswith("YAML syntax error")
        assert probs[0].hint

    def test_empty_document(self):
        assert load_yaml("", "f.yaml") == ({}, {}, [])
        assert load_yaml("# nothing\n", "f.yaml") == ({}, {}, [])


# ---------------------------------------------------------------- did you mean

class TestDidYouMean:
    def test_near(self):
        assert _near("pe3", ["pe1", "pe2", "p1"]) in ("did you mean 'pe1'?", "did you mean 'pe2'?")
        assert _near("acmee", ["acme", "bravo"]) == "did you mean 'acme'?"
        assert _near("zzz", ["acme", "bravo"]) == ""

    def test_ref_hint_lists_what_is_known(self):
        assert _ref_hint("acmee", {"acme", "bravo"}, "tenants") == "did you mean 'acme'? known tenants: acme, bravo"
        assert _ref_hint("x", set(), "tenants") == "known tenants: none"

    def test_unknown_top_level_key(self):
        [p] = problems(MINI + "tennants: []\n")
        assert p.message == "unknown key 'tennants'"
        assert p.hint.startswith("did you mean 'tenants'? allowed keys here: name, provider,")
        assert (p.line, p.col) == (15, 1)

    def test_unknown_key_in_a_list_item(self):
        [p] = problems(MINI.replace("subnet: 10.1.1.0/24", "subnet: 10.1.1.0/24\n        hostz: []"))
        assert p.path == ("tenants", 0, "sites", 0, "hostz")
        assert p.hint.startswith("did you mean 'hosts'?")
        assert "allowed keys here: name, pe, subnet, hosts, link" in p.hint
        assert (p.line, p.col) == (14, 9)

    def test_unknown_key_without_a_close_match(self):
        [p] = problems(MINI.replace("{name: pe1, role: pe}", "{name: pe1, role: pe, colour: red}"))
        assert p.hint == "allowed keys here: name, role"

    def test_unknown_pe_suggests_the_nearest(self):
        [p] = problems(MINI.replace("pe: pe1", "pe: pe-1"))
        assert p.message == "unknown PE router 'pe-1'"
        assert p.hint == "did you mean 'pe1'? known PEs: pe1, pe2"

    def test_fields_at(self):
        assert load_mod._fields_at(()) == list(Topology.model_fields)
        assert load_mod._fields_at(("tenants", 3, "sites", 0, "link")) == ["bw", "delay", "loss"]
        assert load_mod._fields_at(("internet",)) == ["name", "pe", "prefix", "link"]
        assert load_mod._fields_at(("nope", "deeper")) == []


# ---------------------------------------------------------------- load pipeline

class TestPipeline:
    def test_valid(self):
        topo = parse_topology(doc(MINI), "t.yaml")
        assert topo.tenants[0].sites[0].hosts[1].ip == "10.1.1.9"

    def test_unknown_keys_are_pruned_then_relations_checked(self):
        text = MINI.replace("role: pe}\n    - {name: pe2", "role: pe, colour: red}\n    - {name: pe2")
        text = text.replace("pe: pe1", "pe: pe9")
        probs = problems(text)
        assert [p.message for p in probs] == ["unknown key 'colour'", "unknown PE router 'pe9'"]
        assert probs[0].path == ("provider", "routers", 0, "colour")
        assert probs[1].path == ("tenants", 0, "sites", 0, "pe")

    def test_model_errors_stop_before_relations(self):
        # A wrong value makes the rest doubtful: relations are not checked.
        text = MINI.replace("role: pe}\n    - {name: pe2", "role: pe, colour: red}\n    - {name: pe2")
        text = text.replace("pe: pe1", "pe: pe9").replace("10.1.1.9", "10.1.1.9.9")
        msgs = [p.message for p in problems(text)]
        assert "unknown key 'colour'" in msgs
        assert any(m.startswith("invalid IPv4 address") for m in msgs)
        assert not any("pe9" in m for m in msgs)

    def test_without_does_not_touch_its_input(self):
        data = {"a": {"b": 1, "c": 2}, "l": [{"x": 1, "y": 2}]}
        out = load_mod._without(data, [("a", "c"), ("l", 0, "y")])
        assert out == {"a": {"b": 1}, "l": [{"x": 1}]}
        assert data == {"a": {"b": 1, "c": 2}, "l": [{"x": 1, "y": 2}]}

    def test_problems_are_sorted_and_all_positioned(self):
        text = MINI.replace("10.1.1.9", "10.9.9.9").replace("pe: pe1", "pe: p7")
        probs = problems(text)
        assert [p.line for p in probs] == sorted(p.line for p in probs)
        assert all(p.file == "t.yaml" and p.line > 0 for p in probs)
        assert len(probs) == 2

    def test_duplicate_key_and_relations_in_one_run(self):
        text = MINI.replace("pe: pe1", "pe: pe1\n        pe: pe2").replace("10.1.1.9", "10.1.1.1")
        msgs = [p.message for p in problems(text)]
        assert msgs == ["duplicate key 'pe' (first defined on line 12)",
                        "address 10.1.1.1 is the site gateway (the CE's LAN address)"]

    def test_not_a_mapping(self):
        [p] = problems("- a\n- b\n")
        assert p.message.startswith("a topology file is a mapping")
        assert (p.line, p.col) == (1, 1)

    def test_load_topology_missing_file(self, tmp_path):
        with pytest.raises(SpecError) as info:
            load_topology(tmp_path / "missing.yaml")
        [p] = info.value.problems
        assert p.message.startswith("cannot read file")
        assert p.file == str(tmp_path / "missing.yaml")

    def test_spec_error_text_is_every_problem(self):
        exc = SpecError([Problem("b", file="f", line=2, col=1, hint="h"), Problem("a", file="f", line=1, col=3)])
        assert [p.message for p in exc.problems] == ["a", "b"]
        assert str(exc) == "f:1:3: a\nf:2:1: b\n    hint: h"

    def test_problem_format(self):
        p = Problem("boom", path=("a", 0, "b"), hint="do x", file="f.yaml", line=3, col=5)
        assert p.format() == "f.yaml:3:5: boom (at a.0.b)\n    hint: do x"
        assert Problem("boom", file="f.yaml").format() == "f.yaml: boom"

    def test_reference_topology(self):
        topo = load_topology(REPO / "topologies" / "cloudnet.yaml")
        assert [t.name for t in topo.tenants] == ["acme", "bravo"]
        assert [v.type for v in topo.vpcs] == ["vpls", "l3vpn"]


# ---------------------------------------------------------------- LinkProps

class TestLinkProps:
    @pytest.mark.parametrize("given, stored, ms", [
        ("5ms", "5ms", 5.0),
        ("500us", "500us", 0.5),
        ("0.1s", "0.1s", 100.0),
        ("2s", "2s", 2000.0),
        (" 3 ms ", "3ms", 3.0),
        ("7", "7ms", 7.0),
        (5, "5ms", 5.0),
        (2.5, "2.5ms", 2.5),
        (0, "0ms", 0.0),
    ])
    def test_delay(self, given, stored, ms):
        props = LinkProps(delay=given)
        assert props.delay == stored
        assert props.delay_ms == pytest.approx(ms)

    def test_no_delay(self):
        assert LinkProps().delay_ms == 0.0
        assert LinkProps(delay=None).delay is None

    @pytest.mark.parametrize("bad", ["5 msec", "-1ms", "fast", "5m", "1e3ms", "", "ms"])
    def test_bad_delay(self, bad):
        with pytest.raises(ValidationError) as info:
            LinkProps(delay=bad)
        assert "invalid delay" in str(info.value)

    def test_ranges(self):
        with pytest.raises(ValidationError):
            LinkProps(loss=100.5)
        with pytest.raises(ValidationError):
            LinkProps(loss=-1)
        with pytest.raises(ValidationError):
            LinkProps(bw=0)
        assert LinkProps(loss=100).loss == 100

    def test_empty(self):
        assert LinkProps().empty
        assert LinkProps(loss=0).empty
        assert not LinkProps(bw=10).empty
        assert not LinkProps(delay="1ms").empty

    def test_extra_keys_forbidden(self):
        with pytest.raises(ValidationError):
            LinkProps(delay_ms=5)


# ---------------------------------------------------------------- host addressing

class TestHostAddresses:
    def test_from_two_upward(self):
        assert host_addresses("10.1.1.0/24", [None, None, None]) == ["10.1.1.2", "10.1.1.3", "10.1.1.4"]

    def test_gateway_is_never_given(self):
        assert "10.1.1.1" not in host_addresses("10.1.1.0/24", [None] * 10)

    def test_pinned_are_kept_and_skipped(self):
        assert host_addresses("10.1.1.0/24", [None, "10.1.1.2", None, "10.1.1.4", None]) == \
            ["10.1.1.3", "10.1.1.2", "10.1.1.5", "10.1.1.4", "10.1.1.6"]

    def test_empty_and_all_pinned(self):
        assert host_addresses("10.1.1.0/24", []) == []
        assert host_addresses("10.1.1.0/24", ["10.1.1.200"]) == ["10.1.1.200"]

    def test_small_subnet_fills_exactly(self):
        # /29: .1 is the CE, .2-.6 for hosts, .7 is broadcast
        assert host_addresses("10.1.1.0/29", [None] * 5) == [f"10.1.1.{i}" for i in range(2, 7)]

    def test_deterministic_across_processes(self):
        # the same answer whatever the hash seed (no set or dict order leaks into addresses)
        code = ("from cloudnet_emu.plan.addressing import host_addresses; "
                "print(host_addresses('10.1.2.0/24', [None, '10.1.2.9', None, None]))")
        outs = {_in_process(code, seed) for seed in ("1", "2", "3")}
        assert outs == {"['10.1.2.2', '10.1.2.9', '10.1.2.3', '10.1.2.4']"}

    def test_agrees_with_the_checks(self):
        # Whatever validation accepts gets distinct addresses inside the subnet, none the gateway.
        topo = parse_topology(doc(MINI), "t.yaml")
        site = topo.tenants[0].sites[0]
        addrs = host_addresses(site.subnet, [h.ip for h in site.hosts])
        assert addrs == ["10.1.1.2", "10.1.1.9"]
        assert len(set(addrs)) == len(addrs)


# ---------------------------------------------------------------- schema

def test_cli_schema_is_json():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert "properties" in schema
    assert {"name", "provider", "tenants", "cloud_sites", "vpcs", "internet"} <= set(schema["properties"])
    assert set(schema["required"]) == {"name", "provider"}
    assert schema["additionalProperties"] is False
    assert "Router" in schema["$defs"]


def test_model_json_schema_describes_name_limits():
    schema = Topology.model_json_schema()
    router = schema["$defs"]["Router"]["properties"]["name"]
    assert router["maxLength"] == 11
    assert router["pattern"] == "^[a-z][a-z0-9-]*$"


# ---------------------------------------------------------------- odd YAML
# Inputs that once raised something other than SpecError (a traceback instead of
# FILE:LINE:COL): merge keys, complex keys, explicit tags, booleans as delays.

class TestOddYaml:
    def test_merge_key(self):
        text = doc("""
            name: mini
            provider:
              routers: [{name: pe1, role: pe}]
            tenants:
              - name: acme
                sites:
                  - &hq {name: acme-hq, pe: pe1, subnet: 10.1.1.0/24}
                  - <<: *hq
                    name: acme-br
                    subnet: 10.1.2.0/24
            """)
        topo = parse_topology(text, "t.yaml")
        assert topo.tenants[0].sites[1].pe == "pe1"

    def test_complex_key(self):
        with pytest.raises(SpecError):
            parse_topology(doc(MINI) + "? [a, b]\n: 1\n", "t.yaml")

    def test_explicit_tag_with_bad_value(self):
        with pytest.raises(SpecError):
            parse_topology(doc(MINI).replace("role: pe}", "role: !!int pe}", 1), "t.yaml")

    def test_boolean_delay(self):
        with pytest.raises(ValidationError) as info:
            LinkProps(delay=True)
        assert "Truems" not in str(info.value)


def _in_process(code: str, seed: str) -> str:
    """CODE's output in a fresh interpreter with PYTHONHASHSEED=SEED."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, PYTHONHASHSEED=seed)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=True).stdout.strip()
