"""What a scenario file may say (pydantic), and the relations checked before anything is built.

    name: attach
    topology: ../topologies/cloudnet.yaml      # relative to this file
    steps:
      - attach: {vpc: bravo-vpc, site: dc1, name: b1}
      - check: {reach: {from: b1, to: [bravo-h1, bravo-h3]}}
      - link: {endpoints: [pe3, p1], state: down}
      - detach: {vm: b1}
    checks:
      - isolated: {from: b1, to: [acme-h1, inet]}
      - encap: {link: "p1:pe3", vni: 10001, from: b1, to: bravo-h1}
        expect: pass
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional

from pydantic import Field

from ..errors import Problem
from ..spec.bounds import read_spec
from ..spec.load import parse_document
from ..spec.model import Strict, TestbedName
from .checks import Check
from .refusals import REFUSALS
from .relations import scenario_problems
from .steps import Step
from .steps.attach import Attach
from .steps.detach import Detach

# Check and Step are built from the registries (checks/, steps/); REFUSALS lives in refusals.py;
# Attach and Detach are the API's request bodies too (api/serve.py).
__all__ = ["Attach", "Check", "Detach", "REFUSALS", "Scenario", "Step", "Strict", "load_scenario", "relations"]


class Scenario(Strict):
    name: TestbedName
    description: Optional[str] = None
    topology: str = Field(description="topology file, relative to the scenario file")
    realize: Optional[str] = Field(None, description="force realizations, e.g. router=netns,core=vxlan")
    degrade: bool = Field(True, description="build without what the kernel lacks (recorded in the report)")
    steps: list[Step] = []
    checks: list[Check] = []


def relations(sc: Scenario, file: str) -> Iterator[Problem]:
    """References to the topology: VPCs, sites, nodes, links; VMs attached before use (relations.py)."""
    yield from scenario_problems(sc, file)


def load_scenario(path) -> Scenario:
    path = Path(path)
    return parse_document(read_spec(path), str(path), Scenario, lambda sc: relations(sc, str(path)),
                          "a scenario file is a mapping (name:, topology:, steps: ...)", "scenarios/attach.yaml")
