"""The interactive shell `up` opens on a terminal (Mininet's CLI, in spirit).

    cloudnet> acme-h1 ping -c2 10.1.2.2     run a command in a node's namespace
    cloudnet> nodes | check | inspect | help | exit
"""
from __future__ import annotations

import cmd
import shlex

from .. import checks, naming, report
from ..kernel.exec import interactive
from .. import pipeline


class Shell(cmd.Cmd):
    def __init__(self, record: dict):
        super().__init__()
        self.record = record
        self.testbed = record["testbed"]
        self.nodes = {n["name"] for n in record["nodes"]}
        self.prompt = f"{self.testbed}> "
        self.intro = ("Type NODE COMMAND to run a command in a node (e.g. "
                      f"'{sorted(self.nodes)[0]} ip addr'), 'nodes', 'check', 'inspect', 'exit'. "
                      "The testbed goes down when you leave.")

    def default(self, line: str):
        words = shlex.split(line)
        if not words:
            return
        if words[0] not in self.nodes:
            print(f"unknown node or command {words[0]!r}; 'nodes' lists the nodes")
            return
        interactive(words[1:] or ["bash"], naming.netns(self.testbed, words[0]))

    def do_nodes(self, _):
        """List the nodes."""
        print(" ".join(sorted(self.nodes)))

    def do_check(self, _):
        """Run the reachability and isolation checks."""
        report.checks(checks.all_checks(self.testbed, self.record), False)

    def do_inspect(self, _):
        """Show what the testbed consists of."""
        cloud, _ = pipeline.managers(self.testbed)
        report.inspect(self.record, cloud.vms(), cloud.world.vpcs)

    def do_exit(self, _):
        """Leave (the testbed goes down)."""
        return True

    do_quit = do_exit
    do_EOF = do_exit

    def emptyline(self):
        pass
