"""The check and step registries: every kind has its four parts, and the models, the JSON schema,
the paper-check and runner dispatch and the docs all list exactly the registered kinds."""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from cloudnet_emu.scenario import checks, steps
from cloudnet_emu.scenario.kind import CheckKind, StepKind
from cloudnet_emu.scenario.model import Check, Step

REPO = Path(__file__).resolve().parents[3]
REGISTRIES = [(checks, Check, "checks"), (steps, Step, "steps")]


@pytest.mark.parametrize("kind", checks.KINDS, ids=lambda k: k.name)
def test_check_kind_has_all_parts(kind):
    assert isinstance(kind, CheckKind)
    assert importlib.import_module(f"cloudnet_emu.scenario.checks.{kind.name}").KIND is kind
    assert inspect.isclass(kind.model) and issubclass(kind.model, BaseModel)
    assert callable(kind.paper) and callable(kind.run) and callable(kind.title)
    assert list(inspect.signature(kind.run).parameters)[1:] != [] and kind.label


@pytest.mark.parametrize("kind", steps.KINDS, ids=lambda k: k.name)
def test_step_kind_has_all_parts(kind):
    assert isinstance(kind, StepKind)
    assert importlib.import_module(f"cloudnet_emu.scenario.steps.{kind.name}").KIND is kind
    assert kind.model is not None
    assert callable(kind.paper) and callable(kind.run) and callable(kind.title)


@pytest.mark.parametrize("registry, model, _", REGISTRIES)
def test_registry_and_json_schema_agree(registry, model, _):
    names = [k.name for k in registry.KINDS]
    assert len(set(names)) == len(names)
    props = list(model.model_json_schema()["properties"])
    assert props[:2] == ["name", "expect"]
    assert props[2:] == names          # one order: the registry's
    assert model.KINDS == tuple(names) and registry.BY_NAME == {k.name: k for k in registry.KINDS}


@pytest.mark.parametrize("registry, model, _", REGISTRIES)
def test_exactly_one_kind_lists_the_registry(registry, model, _):
    with pytest.raises(ValidationError) as err:
        model.model_validate({})
    assert ", ".join(k.name for k in registry.KINDS) in str(err.value)


@pytest.mark.parametrize("registry, _, folder", REGISTRIES)
def test_every_module_is_registered_and_documented(registry, _, folder):
    here = REPO / "cloudnet_emu" / "scenario" / folder
    modules = {p.stem for p in here.glob("*.py")} - {"__init__"}
    assert modules == {k.name for k in registry.KINDS}
    docs = (REPO / "docs" / "architecture.md").read_text()
    missing = [k.name for k in registry.KINDS if f"`{k.name}`" not in docs]
    assert not missing, f"docs/architecture.md does not list {missing}"


def test_titles_of_every_kind():
    c = Check.model_validate({"reach": {"from": "a", "to": ["b", "c"]}})
    assert checks.BY_NAME["reach"].title(c.reach) == "reach a -> b,c"
    s = Step.model_validate({"wait": 1.5})
    assert s.action == "wait" and steps.BY_NAME["wait"].title(s.wait, "") == "wait 1.5 s"
    s = Step.model_validate({"check": {"garp": {"vm": "v1", "at": "dc1"}}})
    assert steps.BY_NAME["check"].title(s.check, "") == "gratuitous ARP of v1 seen at dc1"
