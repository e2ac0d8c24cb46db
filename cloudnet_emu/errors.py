"""Domain exceptions.

SpecError: the description is wrong (a topology or scenario file); carries the data
path, the file position and a hint; the CLI prints all of them and exits 2 before
anything is built.  RealizeError: the kernel or Open vSwitch refused an operation;
carries the errno and the operation.  Everything the library raises derives from
CloudnetError so the CLI can catch exactly ours.
"""
from __future__ import annotations

import errno as _errno
from dataclasses import dataclass, field


class CloudnetError(Exception):
    """Base of every exception cloudnet-emu raises on purpose.

    Each class carries what the front doors say about it, kept here once: `kind` (the API's
    error kind) and `exit_code` (the CLI's exit status and the API's `exit`): 2 for a description
    that is wrong or asks for what this machine cannot build (nothing was built), 1 for a refusal
    or a failure while acting."""

    kind = "error"
    exit_code = 1


@dataclass
class Problem:
    """One problem in a description file: where, what, and what to do."""

    message: str
    path: tuple = ()          # data path, e.g. ("tenants", 0, "sites", 1, "subnet")
    hint: str = ""
    file: str = "<input>"
    line: int = 0             # 1-based; 0 when unknown
    col: int = 0
    at_value: bool = False    # point at the value (a bad value) rather than the key

    def format(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        dotted = ".".join(str(p) for p in self.path)
        text = f"{where}: {self.message}"
        if dotted:
            text += f" (at {dotted})"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class SpecError(CloudnetError):
    """A description file has one or more problems; nothing was built."""

    kind, exit_code = "bad-request", 2

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col, p.message))
        super().__init__("\n".join(p.format() for p in self.problems))


class UnsupportedError(CloudnetError):
    """The topology needs a kernel feature this machine lacks (and --degrade was not given)."""

    kind, exit_code = "unsupported", 2

    def __init__(self, missing: list[str]):
        self.missing = missing
        super().__init__("\n".join(missing))


@dataclass
class RealizeError(CloudnetError):
    """The kernel or OVS refused an operation while building or tearing down."""

    kind = "realize"

    op: str
    errno: int = 0
    detail: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        super().__init__(str(self))

    def __str__(self) -> str:
        code = f" [{_errno.errorcode.get(self.errno, self.errno)}]" if self.errno else ""
        return f"{self.op} failed{code}: {self.detail}".rstrip(": ")


class StateError(CloudnetError):
    """About running testbeds: none running, several running, already up, locked."""

    kind = "state"


class PlacementError(CloudnetError):
    """No server can take the VM, or a pinned address/name/MAC is taken; nothing was built."""

    kind = "placement"


class AdmissionError(CloudnetError):
    """A bandwidth reservation does not fit on its path; nothing was reserved or changed."""

    kind = "admission"

    def __init__(self, message: str, hint: str = ""):
        self.hint = hint
        super().__init__(message + (f"\n    hint: {hint}" if hint else ""))
