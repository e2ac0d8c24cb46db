"""What a registered check kind or step kind is made of, and the one-of model built from a registry.

A check kind (`scenario/checks/<kind>.py`) and a step kind (`scenario/steps/<kind>.py`) each hold
four parts: its `model` (what the scenario file may say under its key), its `paper` check (its
references to the topology, replayed in order before anything is built: relations.py), its `run`
(what it does or judges on the running testbed) and its `title` (the name its report entry gets when
the file gives none).  A check kind also has its `label`, the family its report entry is counted in.

`one_of` builds the `Check` and `Step` models from a registry: one optional key per kind, exactly
one of them given.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterator, Optional

from pydantic import Field, create_model, model_validator

from ..spec.model import Strict


@dataclass(frozen=True)
class CheckKind:
    """paper(w, body, at) yields Problems (relations.py's paper world, `at` the body's data path);
    run(w, body, expect) -> verdict.Verdict on the testbed (world.World); title(body) -> str."""
    name: str
    model: type
    paper: Callable
    run: Callable
    title: Callable
    label: str


@dataclass(frozen=True)
class StepKind:
    """paper(w, body, at, i, ok) yields Problems (`i` the step's index, `ok` False for a step meant
    to be refused); run(w, body) -> (phases, detail), raising what the managers raise when they refuse;
    title(body, detail) -> str.  `model` is the key's type; `field` its pydantic Field when the key
    needs bounds or a description (None: Field(None))."""
    name: str
    model: Any
    paper: Callable
    run: Callable
    title: Callable
    field: Any = None


def nothing(*_args) -> Iterator:
    """The paper check of a kind that refers to nothing in the topology."""
    return iter(())


class OneOf(Strict):
    """A mapping with exactly one key of KINDS (the registry's order, as error messages list them)."""
    KINDS: ClassVar[tuple[str, ...]] = ()
    NOUN: ClassVar[str] = ""

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in self.KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a {self.NOUN} has exactly one of {', '.join(self.KINDS)}; this one has "
                             f"{', '.join(given) or 'none'}")
        return self

    def chosen(self) -> str:
        return next(k for k in self.KINDS if getattr(self, k) is not None)


def one_of(name: str, base: type, kinds: tuple, module: str) -> type:
    """The model NAME on BASE (a OneOf) with one optional key per kind, in the registry's order (the
    order of the schema, of 'allowed keys' hints and of error messages)."""
    fields = {k.name: (Optional[k.model], _field(k)) for k in kinds}
    model = create_model(name, __base__=base, __module__=module, **fields)
    model.KINDS = tuple(k.name for k in kinds)
    return model


def _field(kind) -> Any:
    got = getattr(kind, "field", None)
    return Field(None) if got is None else got
