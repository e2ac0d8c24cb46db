"""Command-line arguments checked before anything is touched: one line, exit 2.

Every bad argument a user can type gets one line saying what is wrong and what to
do, and exit status 2 (bad input, nothing built or changed), never a traceback:

    error: no VM 'b9' in testbed 'cloudnet'; name one of: a1, b1 (`cloudnet-emu vm list`)

Values are checked by click parameter types as the command line is parsed (MAC,
IPv4 address, SITE[/SERVER], --realize); names are checked against the running
testbed (`testbed()`, `vm()`, `vpc()`, `site()`, `server()`) before a manager acts,
so a typo never reaches the Cloud or Network Manager.  What the managers refuse
for other reasons (no free capacity, an address already taken) stays their error.
"""
from __future__ import annotations

import ipaddress
import os
import re
from typing import Optional

import click

from ..errors import SpecError, StateError
from ..naming import MAX_NAME
from ..spec.model import MAC_RE, NAME_RE
from .. import state
from ..plan.choose import parse_forced


class BadArgument(click.ClickException):
    """A bad command-line argument: one line on stderr, exit 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"error: {self.format_message()}", err=True)


def show(exc: click.ClickException) -> None:
    """One line on stderr for any click error: a usage error names the --help to read."""
    if isinstance(exc, click.UsageError):
        where = exc.ctx.command_path if exc.ctx else "cloudnet-emu"
        click.echo(f"error: {exc.format_message()} (see `{where} --help`)", err=True)
    else:
        exc.show()


def need_root():
    if os.geteuid() != 0:
        raise BadArgument("this command builds or inspects network namespaces: run it as root (sudo cloudnet-emu ...)")


def _choices(names) -> str:
    names = sorted(names)
    return ", ".join(names) if names else "none"


# --- values -----------------------------------------------------------------------------
class Int(click.ParamType):
    """A whole number in [low, high], with the range said in words."""

    name = "N"

    def __init__(self, low: int, high: Optional[int] = None, what: str = "a whole number"):
        self.low, self.high, self.what = low, high, what

    def convert(self, value, param, ctx):
        try:
            n = int(value)
        except (TypeError, ValueError):
            n = None
        if n is None or n < self.low or (self.high is not None and n > self.high):
            span = f"{self.low}-{self.high}" if self.high is not None else f"at least {self.low}"
            self.fail(f"{value!r} is not {self.what} ({span})", param, ctx)
        return n


class Mac(click.ParamType):
    name = "MAC"

    def convert(self, value, param, ctx):
        if isinstance(value, str) and re.match(MAC_RE, value):
            return value
        self.fail(f"{value!r} is not a MAC: write six lower-case hex pairs, e.g. 02:00:00:00:00:01", param, ctx)


class Ipv4(click.ParamType):
    name = "IPV4"

    def convert(self, value, param, ctx):
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            self.fail(f"{value!r} is not an IPv4 address: write a bare address, e.g. 10.1.100.20 "
                      "(the prefix length comes from the VPC's subnet)", param, ctx)


class VmName(click.ParamType):
    name = "NAME"

    def convert(self, value, param, ctx):
        if re.match(NAME_RE, value) and len(value) <= MAX_NAME:
            return value
        self.fail(f"{value!r}: use lower-case letters, digits and '-', starting with a letter, at most "
                  f"{MAX_NAME} characters", param, ctx)


class Destination(click.ParamType):
    """SITE or SITE/SERVER -> (site, server or None)."""

    name = "SITE[/SERVER]"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        site, slash, server = value.partition("/")
        if not site or (slash and not server) or "/" in server:
            self.fail(f"{value!r} is not SITE or SITE/SERVER: write e.g. dc2 or dc2/dc2-s1", param, ctx)
        return site, server or None


class Realize(click.ParamType):
    name = "CONSTRUCT=REALIZATION,..."

    def convert(self, value, param, ctx):
        try:
            parse_forced(value)
        except SpecError as exc:
            self.fail("; ".join(f"{p.message.replace(' in --realize', '')} ({p.hint})" for p in exc.problems),
                      param, ctx)
        return value


MAC, IPV4, VM_NAME, DESTINATION, REALIZE = Mac(), Ipv4(), VmName(), Destination(), Realize()
POSITIVE, VLAN = Int(1, what="a whole number"), Int(1, 4094, what="a VLAN id")


# --- names in the running testbed -------------------------------------------------------
def testbed(name: Optional[str]) -> str:
    """The testbed a command acts on (NAME or the only one running), or one line and exit 2."""
    try:
        return state.resolve(name)
    except StateError as exc:
        raise BadArgument(str(exc)) from None
    except PermissionError:
        raise BadArgument(f"the testbeds' state in {state.STATE_ROOT} is readable by root only: run it as root "
                          "(sudo cloudnet-emu ...)") from None


def vm(cloud, name: str) -> None:
    if name not in cloud.data["vms"]:
        raise BadArgument(f"no VM {name!r} in testbed {cloud.testbed!r}; name one of: {_choices(cloud.data['vms'])} "
                          "(`cloudnet-emu vm list`)")


def vpc(cloud, name: str) -> None:
    vpcs = cloud.world.vpcs
    if name not in vpcs:
        raise BadArgument(f"no VPC {name!r} in testbed {cloud.testbed!r}; name one of: {_choices(vpcs)} "
                          "(`cloudnet-emu vpc list`)")


def site(cloud, name: Optional[str]) -> None:
    clouds = cloud.world.clouds
    if name is not None and name not in clouds:
        raise BadArgument(f"no cloud site {name!r} in testbed {cloud.testbed!r}; name one of: {_choices(clouds)}")


def server(cloud, site_name: Optional[str], name: Optional[str]) -> None:
    if name is None:
        return
    servers = cloud.servers()
    if name not in servers:
        raise BadArgument(f"no server {name!r} in testbed {cloud.testbed!r}; name one of: {_choices(servers)}")
    if site_name is not None and servers[name]["site"] != site_name:
        mine = [s for s, v in servers.items() if v["site"] == site_name]
        raise BadArgument(f"server {name!r} is in cloud site {servers[name]['site']!r}, not {site_name!r}; "
                          f"servers of {site_name}: {_choices(mine)}")
