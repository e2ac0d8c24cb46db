"""The control API's request validation (no root, no testbed): bad requests get clear errors, no traceback."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cloudnet_emu import api
from cloudnet_emu.errors import SpecError


def _problems(line: str) -> list:
    with pytest.raises(SpecError) as exc:
        api.parse(line, "<stdin>", 3)
    return exc.value.problems


def test_valid_requests_parse():
    rid, op, body = api.parse('{"id": 7, "op": "attach", "vpc": "bravo-vpc", "site": "dc1", "vcpus": 2}')
    assert (rid, op, body.vpc, body.site, body.vcpus) == (7, "attach", "bravo-vpc", "dc1", 2)
    assert api.parse('{"op": "migrate", "vm": "web", "to": "dc2/dc2-s1"}')[2].pause_ms == 50
    assert api.parse('{"op": "list"}')[1] == "list"
    assert api.parse('{"op": "detach", "vm": "web"}')[2].vm == "web"


@pytest.mark.parametrize("line, path, message, hint", [
    ("{not json", "", "not JSON", "one JSON object per line"),
    ("[1, 2]", "", "a request is a JSON object, got list", '"op": "attach"'),
    ('{"vpc": "x"}', "op", "missing required key 'op'", "use one of attach, detach, migrate, list"),
    ('{"op": "boot"}', "op", "unknown op 'boot'", "use one of attach, detach, migrate, list"),
    ('{"op": "attach"}', "vpc", "missing required key 'vpc'", "add it"),
    ('{"op": "attach", "vpc": "Bad_Name"}', "vpc", "'Bad_Name' is not a valid name", "lower-case letters"),
    ('{"op": "attach", "vpc": "a", "vcpus": 0}', "vcpus", "greater than 0", "positive number"),
    ('{"op": "attach", "vpc": "a", "sit": "dc1"}', "sit", "unknown key 'sit'", "did you mean 'site'?"),
    ('{"op": "attach", "vpc": "a", "policy": "random"}', "policy", "Input should be", "one of the listed"),
    ('{"op": "migrate", "vm": "web"}', "to", "missing required key 'to'", "add it"),
    ('{"op": "migrate", "vm": "web", "to": "dc2", "pause_ms": -1}', "pause_ms", "greater than or equal", "larger"),
    ('{"op": "list", "all": true}', "all", "unknown key 'all'", "allowed keys here"),
])
def test_bad_requests_name_the_field_and_give_a_hint(line, path, message, hint):
    problems = _problems(line)
    p = next(p for p in problems if ".".join(map(str, p.path)) == path)
    assert message in p.message and hint in p.hint
    assert p.format().startswith("<stdin>:3:")


def test_cli_replies_one_line_per_request_and_never_a_traceback():
    lines = ['{"id": 1, "op": "attach", "vpc": "Bad_Name"}', "garbage", "", '{"id": [2], "op": "nope"}']
    res = subprocess.run([sys.executable, "-c", "from cloudnet_emu import api; api.serve_stdio('nosuch')"],
                         input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "Traceback" not in res.stderr
    replies = [json.loads(l) for l in res.stdout.splitlines()]
    assert [r["id"] for r in replies] == [1, None, [2]]
    assert all(not r["ok"] and r["error"]["kind"] == "bad-request" and r["error"]["exit"] == 2 for r in replies)
    assert replies[0]["error"]["problems"][0]["path"] == "vpc"
    assert replies[1]["error"]["problems"][0]["line"] == 2
