"""`cloudnet-emu reserve ...`: bandwidth reservations on a running testbed.

    reserve create NAME --vpc V --between A B --bw MBIT          a pipe, MBIT each way
    reserve create NAME --vpc V --site S --ingress MBIT --egress MBIT   a hose on site S
    reserve change NAME --bw MBIT | --ingress/--egress           re-admitted without itself
    reserve list | reserve release NAME
"""
from __future__ import annotations

import json
import os

import click

from .. import pipeline, report, state
from .args import BadArgument
from ..managers import reserving


def _testbed(testbed) -> str:
    if os.geteuid() != 0:
        raise BadArgument("reservations change tc state in the testbed's namespaces: run it as root (sudo cloudnet-emu ...)")
    return state.resolve(testbed)


@click.group()
def reserve():
    """Bandwidth reservations along VPN paths (the Network Manager admits them on link capacity)."""


def _spec_options(f):
    for opt in reversed([
        click.option("--between", nargs=2, help="pipe: two endpoints (VMs, hosts or enterprise sites of the VPC)"),
        click.option("--bw", type=click.FloatRange(min=0, min_open=True), help="pipe rate, Mbit/s each way"),
        click.option("--site", help="hose: an enterprise site the VPC joins"),
        click.option("--ingress", type=click.FloatRange(min=0), help="hose: Mbit/s into the site"),
        click.option("--egress", type=click.FloatRange(min=0), help="hose: Mbit/s out of the site"),
        click.option("--testbed", "-t"),
        click.option("--json", "as_json", is_flag=True)]):
        f = opt(f)
    return f


def _show(meta: dict, as_json: bool, verb: str):
    if as_json:
        click.echo(json.dumps(meta, indent=1))
    else:
        click.echo(f"{verb} {meta['name']}: {reserving.describe(meta)}")


@reserve.command("create")
@click.argument("name")
@click.option("--vpc", required=True)
@_spec_options
def create(name, vpc, between, bw, site, ingress, egress, testbed, as_json):
    """Admit and realize reservation NAME (HTB classes + filters on every shaped hop of its path)."""
    tb = _testbed(testbed)
    with state.locked(tb):       # the managers read their ledgers under the lock
        cloud = pipeline.managers(tb)[0]
        meta = cloud.reserve(name, vpc, between=list(between) if between else None, bw=bw, site=site,
                             ingress=ingress, egress=egress)
    _show(meta, as_json, "reserved")


@reserve.command("change")
@click.argument("name")
@_spec_options
def change(name, between, bw, site, ingress, egress, testbed, as_json):
    """Change NAME's rate or ends; admitted as if NAME were gone, unchanged if refused."""
    tb = _testbed(testbed)
    with state.locked(tb):
        cloud = pipeline.managers(tb)[0]
        meta = cloud.reserve(name, change=True, between=between or None, bw=bw, site=site, ingress=ingress,
                             egress=egress)
    _show(meta, as_json, "changed")


@reserve.command("release")
@click.argument("name")
@click.option("--testbed", "-t")
def release(name, testbed):
    """Release reservation NAME (best effort gets its share back)."""
    tb = _testbed(testbed)
    with state.locked(tb):
        pipeline.managers(tb)[0].unreserve(name)
    click.echo(f"released {name}")


@reserve.command("list")
@click.option("--testbed", "-t")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(testbed, as_json):
    """Reservations, their hops, and each link direction's reserved total."""
    book = pipeline.managers(_testbed(testbed))[0].network("reservations", {})
    if as_json:
        click.echo(json.dumps(book, indent=1))
    else:
        report.reservations(book)
