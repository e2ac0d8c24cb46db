"""`cloudnet-emu acl ...`: access rules inside a VPC on a running testbed.

    acl list [TESTBED] [--vpc V] [--json]      rules in order, with nft counters (packets/bytes per PE)
    acl set VPC FILE [-t TESTBED]              replace VPC's rules with FILE's (default:, rules:)
    acl clear VPC [-t TESTBED]                 no rules (the tables leave the PEs)
"""
from __future__ import annotations

import json
import os

import click

from .. import pipeline, state
from .args import BadArgument
from ..acl.model import Acl
from ..spec.bounds import read_spec
from ..spec.load import parse_document


def _network(testbed):
    if os.geteuid() != 0:
        raise BadArgument("access rules live in the testbed's namespaces (nft): run it as root (sudo cloudnet-emu ...)")
    name = state.resolve(testbed)
    return name, pipeline.managers(name)[1]


@click.group()
def acl():
    """Access rules inside VPCs, applied at the PEs with nftables (per-rule counters)."""


def _ends(value) -> str:
    return value if isinstance(value, str) else ",".join(value)


def _table(entries: list[dict]) -> None:
    if not entries:
        click.echo("no VPC has access rules (or none has an endpoint yet)")
    for e in entries:
        click.echo(f"{e['vpc']}: default {e['default']}, at {', '.join(e['pes']) or 'no PE (no VM attached)'}")
        click.echo(f"  {'rule':<12} {'action':<6} {'from':<22} {'to':<22} {'proto':<6} {'port':<10} "
                   f"{'packets':>8} {'bytes':>10}  per PE")
        for r in e["rules"]:
            packets = sum(p for p, _ in r["counters"].values())
            nbytes = sum(b for _, b in r["counters"].values())
            per_pe = " ".join(f"{pe}:{p}" for pe, (p, _) in sorted(r["counters"].items()) if p)
            arrow = " <->" if r.get("both") else ""
            click.echo(f"  {r['name']:<12} {r['action']:<6} {_ends(r['from']) + arrow:<22} {_ends(r['to']):<22} "
                       f"{r['proto']:<6} {','.join(r.get('port') or []) or '-':<10} {packets:>8} {nbytes:>10}  "
                       f"{per_pe}")


@acl.command("list")
@click.argument("testbed", required=False)
@click.option("--vpc")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(testbed, vpc, as_json):
    """Every VPC's rules with their counters (summed over the PEs; per PE at the end)."""
    _, network = _network(testbed)
    entries = network.acl_list({"vpc": vpc})["acls"]
    if as_json:
        click.echo(json.dumps(entries, indent=1))
    else:
        _table(entries)


@acl.command("set")
@click.argument("vpc")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--testbed", "-t")
def set_cmd(vpc, file, testbed):
    """Replace VPC's rules with those of FILE (YAML: default: allow|deny, rules: [...])."""
    rules = parse_document(read_spec(file), file, Acl, lambda a: [], "an ACL file is a mapping (default:, rules:)",
                           "scenarios/acl.yaml")
    tb, network = _network(testbed)
    with state.locked(tb):
        got = network.acl({"vpc": vpc, "acl": rules.model_dump(by_alias=True)})
    click.echo(f"{vpc}: {got['rules']} rule(s), default {rules.default}, at {', '.join(got['pes']) or 'no PE yet'}")


@acl.command("clear")
@click.argument("vpc")
@click.option("--testbed", "-t")
def clear_cmd(vpc, testbed):
    """Remove VPC's rules (also those of the topology file) from its PEs."""
    tb, network = _network(testbed)
    with state.locked(tb):
        network.acl({"vpc": vpc, "acl": None})
    click.echo(f"{vpc}: no access rules")
