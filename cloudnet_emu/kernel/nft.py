"""nftables inside a namespace: a whole ruleset loaded in one transaction, tables read as JSON.

A ruleset goes in on stdin (`nft -f -`), so a table is replaced atomically; reading is `nft -j`,
whose JSON is parsed by the caller's own model of its table (acl/nft.py: parse_counters).
"""
from __future__ import annotations

import json
import subprocess
from typing import Optional

from ..errors import RealizeError
from . import exec as kexec


def nft(netns: str, args: list[str], text: Optional[str] = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run nft ARGS inside namespace NETNS, TEXT on its stdin; with CHECK a refusal is a
    RealizeError carrying nft's complaint and the ruleset it refused."""
    res = kexec.run(["nft"] + list(args), netns=netns, check=False, input=text)
    if check and res.returncode != 0:
        raise RealizeError(" ".join(kexec.in_netns(netns, ["nft"] + list(args))), 0,
                           res.stderr.strip() + (f"\n{text}" if text else ""))
    return res


def load(netns: str, ruleset: str) -> None:
    """Apply RULESET (nft syntax) in one transaction."""
    nft(netns, ["-f", "-"], ruleset)


def counters(netns: str, family: str, table: str) -> Optional[dict]:
    """`nft -j list counters table FAMILY TABLE` parsed; None when there is no such table (yet)."""
    res = nft(netns, ["-j", "list", "counters", "table", family, table], check=False)
    return json.loads(res.stdout) if res.returncode == 0 else None

