"""The `cloudnet-emu` command: a thin layer over pipeline.py, report.py and cli/shell.py.

Exit codes: 0 success, 1 a check failed or the kernel/OVS refused something,
2 bad input (every problem listed, nothing built) or a feature this kernel lacks.
"""
from __future__ import annotations

import json
import os
import sys

import click

from . import args
from .. import attack as attacks
from .. import graph as g
from .. import lifecycle, naming, pipeline, probe, report, state
from ..api import serve as api
from ..attack.result import all_held, print_table
from ..errors import CloudnetError, SpecError, UnsupportedError
from ..kernel import ns
from ..kernel.exec import in_netns
from ..scenario import batch, runner
from ..scenario.model import load_scenario
from ..spec.model import POLICIES, Topology
from ..vpcs import create, delete
from .capture import target
from .control import routing, with_vty_socket
from .run import run_many
from .shell import Shell


def _need_root():
    args.need_root()


def _fail(exc: CloudnetError):
    if isinstance(exc, SpecError):
        for p in exc.problems:
            click.echo(p.format(), err=True)
        click.echo(f"{len(exc.problems)} problem(s); nothing was built.", err=True)
        sys.exit(exc.exit_code)
    if isinstance(exc, UnsupportedError):
        click.echo("this kernel cannot build the topology as asked:", err=True)
        for line in exc.missing:
            click.echo(f"  - {line}", err=True)
        click.echo("nothing was built.", err=True)
        sys.exit(exc.exit_code)
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


class Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CloudnetError as exc:
            _fail(exc)
        except KeyboardInterrupt:
            click.echo("interrupted; whatever was half-built has been removed.", err=True)
            sys.exit(130)

    def main(self, *a, **kw):
        """Bad arguments: one line and exit 2 (cli/args.py), not click's usage block."""
        if kw.get("standalone_mode", True) is False:
            return super().main(*a, **kw)
        try:
            rv = super().main(*a, **{**kw, "standalone_mode": False})
        except click.ClickException as exc:
            args.show(exc)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("aborted.", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cloudnet-emu", prog_name="cloudnet-emu", message="%(prog)s %(version)s")
def main():
    """Emulate CloudNet: enterprise sites and cloud data centers joined by provider VPNs."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
def validate(files):
    """Check topology FILES; print every problem as FILE:LINE:COL (exit 2)."""
    problems = pipeline.validate(files)
    if problems:
        raise SpecError(problems)
    for f in files:
        click.echo(f"{f}: ok")


@main.command()
def schema():
    """Print the JSON Schema of topology files (for editors)."""
    click.echo(json.dumps(Topology.model_json_schema(), indent=2))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--realize", type=args.REALIZE, help="force realizations, e.g. router=netns,core=vxlan")
def doctor(as_json, realize):
    """Probe this machine and say which realization each construct will use, and why."""
    _need_root()                     # the probe builds scratch namespaces
    features = probe.probe(cached=False)
    report.doctor(features, realize, as_json)


@main.command("plan")
@click.argument("topology", type=click.Path())
@click.option("--realize", type=args.REALIZE, help="force realizations, e.g. router=netns,core=vxlan")
@click.option("--degrade", is_flag=True, help="build without what the kernel lacks (recorded)")
@click.option("--json", "as_json", is_flag=True)
def plan_cmd(topology, realize, degrade, as_json):
    """Print what `up` would build, without building it."""
    topo = pipeline.load(topology)   # a bad file is refused first, root or not
    _need_root()                     # choosing realizations probes the kernel in scratch namespaces
    the_plan = pipeline.plan(topo, realize, degrade)
    report.plan(the_plan, as_json)


@main.command()
@click.argument("topology", type=click.Path())
@click.option("--detach", "-d", is_flag=True, help="return once ready; leave the testbed running")
@click.option("--realize", type=args.REALIZE, help="force realizations, e.g. router=netns,core=vxlan,datapath=netdev")
@click.option("--degrade", is_flag=True, help="build without delay/loss the kernel cannot emulate (recorded)")
@click.option("--json", "as_json", is_flag=True, help="quiet; print the testbed record as JSON")
def up(topology, detach, realize, degrade, as_json):
    """Build TOPOLOGY; on a terminal, open a shell on it and tear it down on exit."""
    _need_root()
    record = report.with_progress(lambda progress: pipeline.up(topology, realize, degrade, progress),
                                  quiet=as_json, title=f"up {topology}")
    if as_json:
        click.echo(json.dumps(record, indent=1, default=str))
    else:
        report.summary(record)
    if detach or as_json or not sys.stdin.isatty():
        if not as_json:
            click.echo(f"testbed {record['testbed']!r} is up. `cloudnet-emu inspect`, "
                       f"`cloudnet-emu exec NODE -- CMD`, `sudo cloudnet-emu down`.")
        return
    try:
        Shell(record).cmdloop()
    finally:
        lifecycle.down(record["testbed"])
        click.echo(f"testbed {record['testbed']!r} is down.")


@main.command()
@click.argument("name", required=False)
def down(name):
    """Tear down testbed NAME (default: the only one running)."""
    _need_root()
    name, phases = pipeline.down(args.testbed(name))
    click.echo(f"testbed {name!r} is down in {sum(phases.values()):.2f} s ("
               + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()) + ").")


@main.command()
@click.option("--all", "everything", is_flag=True, help="also take down testbeds that are up")
def clean(everything):
    """Remove every leftover of crashed runs (only objects cloudnet-emu made)."""
    _need_root()
    removed = lifecycle.clean(everything)
    total = sum(len(v) for v in removed.values())
    for kind, items in removed.items():
        if items:
            click.echo(f"removed {len(items)} {kind.replace('_', ' ')}: {', '.join(items)}")
    if not total:
        click.echo("nothing to clean.")


@main.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True)
def inspect(name, as_json):
    """Nodes, VRFs, VPN instances, addresses, realizations and degradations of a testbed."""
    name = args.testbed(name)
    record = state.read(name)
    cloud, _ = pipeline.managers(name)
    vms, vpcs = cloud.vms(), cloud.world.vpcs
    live = routing(name, record)
    if as_json:
        click.echo(json.dumps({**record, "vms": vms, "vpcs": {n: v.to_dict() for n, v in vpcs.items()}, **live},
                              indent=1, default=str))
    else:
        report.inspect(record, vms, vpcs)
        report.routing(record, live)


@main.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.option("--testbed", "-t", help="testbed name (default: the only one running)")
@click.argument("node")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
def exec_cmd(testbed, node, command):
    """Run COMMAND in NODE's namespace: cloudnet-emu exec acme-h1 -- ping 10.1.2.2"""
    _need_root()
    name = args.testbed(testbed)
    _check_node(name, node)
    argv = in_netns(naming.netns(name, node), with_vty_socket(name, node, command))
    os.execvp(argv[0], argv)


def _check_node(testbed: str, node: str):
    """Nodes of the plan and those the managers made since (VMs, logical CEs, VRFs)."""
    if not ns.exists(naming.netns(testbed, node)):
        prefix = f"cn-{testbed}-"
        nodes = [n[len(prefix):] for n in ns.listing() if n.startswith(prefix)]
        raise args.BadArgument(f"no node {node!r} in testbed {testbed!r}; name one of: {', '.join(sorted(nodes))}")


@main.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True)
def check(name, as_json):
    """Reachability, isolation and encapsulation checks with real traffic (exit 1 if any fails)."""
    _need_root()
    results = pipeline.check(args.testbed(name))
    report.checks(results, as_json)
    sys.exit(0 if report.checks_ok(results) else 1)


@main.command()
@click.argument("name", required=False)
@click.option("--case", "case_names", multiple=True, help="run only this case (repeatable); default all",
              type=click.Choice(attacks.CASE_NAMES))
@click.option("--json", "as_json", is_flag=True)
def attack(name, case_names, as_json):
    """Isolation under attack: crafted packets and spoofing against a running testbed.  Each case
    passes, fails, errs (it could not judge) or is not checked here; exit 0 only if every case
    passed or was not checked (at least one passed), 1 on any fail or error."""
    _need_root()
    results = attacks.run(args.testbed(name), list(case_names) or None,
                          progress=(lambda s: None) if as_json else (lambda s: click.echo(s, err=True)))
    print_table(results, as_json)
    sys.exit(0 if all_held(results) else 1)


@main.command()
@click.argument("topology", type=click.Path(), default="topologies/cloudnet.yaml")
@click.option("--realize", type=args.REALIZE, help="force realizations")
@click.option("--keep", is_flag=True, help="leave the testbed up afterwards")
def demo(topology, realize, keep):
    """Bring TOPOLOGY up (degrading what the kernel lacks), prove isolation with traffic, tear down."""
    _need_root()
    features = probe.probe()
    report.doctor(features, realize, False, brief=True)
    record = report.with_progress(lambda progress: pipeline.up(topology, realize, True, progress),
                                  quiet=False, title=f"up {topology}")
    try:
        report.summary(record)
        results = pipeline.check(record["testbed"])
        report.checks(results, False)
    finally:
        if not keep:
            lifecycle.down(record["testbed"])
            click.echo(f"testbed {record['testbed']!r} is down; the machine is as before.")
    sys.exit(0 if report.checks_ok(results) else 1)


@main.command("run")
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(), metavar="SCENARIO...")
@click.option("--report-dir", type=click.Path(),
              help="write report.json, report.xml and report.html here (several scenarios: one directory "
                   "each, and the combined report.xml)")
@click.option("--testbed", "-t", help="act on this running testbed instead of bringing the topology up")
@click.option("--json", "as_json", is_flag=True, help="print report.json instead of the table")
def run_cmd(scenarios, report_dir, testbed, as_json):
    """Run SCENARIO: its topology up, steps and checks, down; exit 0 iff all came out as expected.
    Several files, or a directory of them, run one after another, each on a fresh testbed."""
    if batch.is_batch(scenarios):
        sys.exit(run_many(scenarios, report_dir, testbed, as_json))
    scenario = scenarios[0]
    load_scenario(scenario)          # every problem of the file before anything is built
    _need_root()
    if testbed:
        args.testbed(testbed)
    result = report.with_progress(lambda progress: runner.run(scenario, report_dir, testbed, progress),
                                   quiet=as_json, title=f"run {scenario}")
    if as_json:
        click.echo(json.dumps(result, indent=1))
    else:
        report.scenario_table(result)
    sys.exit(0 if result["ok"] else 1)


@main.group()
def vm():
    """Attach, detach and list VMs of a running testbed (the Cloud Manager)."""


@vm.command("attach")
@click.argument("vpc")
@click.option("--site", help="cloud site (default: any, by the placement policy)")
@click.option("--server", help="pin to this server")
@click.option("--vcpus", type=args.POSITIVE, default=1, show_default=True)
@click.option("--mem", "mem_mb", type=args.POSITIVE, default=512, show_default=True, help="MB")
@click.option("--ip", type=args.IPV4, help="pin the address (default: from the VPC's plan)")
@click.option("--mac", type=args.MAC, help="pin the MAC (default: derived from the name)")
@click.option("--name", type=args.VM_NAME, help="VM name (default: vm1, vm2 ...)")
@click.option("--policy", type=click.Choice(POLICIES),
              help="placement policy")
@click.option("--near", help="policy nearest: the enterprise site whose WAN delay to the cloud site is minimized")
@click.option("--testbed", "-t")
@click.option("--json", "as_json", is_flag=True)
def vm_attach(vpc, site, server, vcpus, mem_mb, ip, mac, name, policy, near, testbed, as_json):
    """Attach a new VM to VPC: placement, VLAN, logical CE, VPN endpoint (each step timed)."""
    _need_root()
    name_tb = args.testbed(testbed)
    with state.locked(name_tb):
        cloud, _ = pipeline.managers(name_tb)
        args.vpc(cloud, vpc), args.site(cloud, site), args.server(cloud, site, server)
        record = cloud.attach(vpc, site=site, server=server, vcpus=vcpus, mem_mb=mem_mb, ip=ip, mac=mac, name=name,
                              policy=policy, near=near)
    if as_json:
        click.echo(json.dumps(record, indent=1))
    else:
        report.attached(record)


@vm.command("detach")
@click.argument("name")
@click.option("--testbed", "-t")
def vm_detach(name, testbed):
    """Detach VM NAME; the VPC's logical CE, VLAN and PE endpoint go with its last VM in the site."""
    _need_root()
    name_tb = args.testbed(testbed)
    with state.locked(name_tb):
        cloud, _ = pipeline.managers(name_tb)
        args.vm(cloud, name)
        res = cloud.detach(name)
    click.echo(f"detached {name} in {res['ms']:.1f} ms (" + ", ".join(f"{k} {v:.1f}" for k, v in res["steps_ms"].items())
               + ")" + (f"; released its reservations {', '.join(res['released'])}" if res.get("released") else ""))


@vm.command("migrate")
@click.argument("name")
@click.option("--to", "to", type=args.DESTINATION, required=True, help="SITE or SITE/SERVER")
@click.option("--pause-ms", type=click.FloatRange(0, 60000), default=50, show_default=True, help="stop-and-copy pause")
@click.option("--no-garp", is_flag=True, help="do not announce the move (the negative control)")
@click.option("--testbed", "-t")
@click.option("--json", "as_json", is_flag=True)
def vm_migrate(name, to, pause_ms, no_garp, testbed, as_json):
    """Live-migrate VM NAME to another cloud site over the VPN (Figure 3)."""
    _need_root()
    name_tb = args.testbed(testbed)
    site, server = to
    with state.locked(name_tb):
        cloud, _ = pipeline.managers(name_tb)
        args.vm(cloud, name), args.site(cloud, site), args.server(cloud, site, server)
        res = cloud.migrate(name, site, server or None, pause_ms, not no_garp)
    if as_json:
        click.echo(json.dumps(res, indent=1))
    else:
        p = res["phases_ms"]
        click.echo(f"migrated {name} {res['from']} -> {res['to']} (VLAN {res['vlan']}) in {res['total_ms']:.0f} ms: "
                   f"prepare {p['prepare']:.0f} ms, pre-copy {res['precopy_bytes'] >> 20} MB in {p['precopy']:.0f} ms "
                   f"({res['precopy_mbit_s']} Mbit/s), pause {res['pause_ms']:.0f} ms, announce {p['announce']:.0f} ms"
                   f"{'' if res['garp'] else ' (no gratuitous ARP)'}")


@vm.command("list")
@click.option("--testbed", "-t")
@click.option("--json", "as_json", is_flag=True)
def vm_list(testbed, as_json):
    """VMs with their server, site, VLAN, IP and MAC."""
    cloud, _ = pipeline.managers(args.testbed(testbed))
    if as_json:
        click.echo(json.dumps(cloud.vms(), indent=1))
    else:
        report.vms(cloud.vms())


@main.command("api")
@click.option("--testbed", "-t")
@click.option("--socket", "socket_path", type=click.Path(), help="serve a Unix socket instead of stdin/stdout")
def api_cmd(testbed, socket_path):
    """The control API: one JSON request per line (attach, detach, migrate, list), one JSON reply per line."""
    _need_root()
    if socket_path:
        api.serve_socket(socket_path, testbed,
                         ready=lambda: click.echo(f"serving {socket_path}; Ctrl-C stops", err=True))
    else:
        api.serve_stdio(testbed)


@main.group()
def vpc():
    """List, create and delete VPCs of a running testbed."""


@vpc.command("list")
@click.option("--testbed", "-t")
@click.option("--json", "as_json", is_flag=True)
def vpc_list(testbed, as_json):
    """VPCs with their tenant, type, subnet and VMs."""
    cloud, _ = pipeline.managers(args.testbed(testbed))
    rows = [{"name": n, **{k: v for k, v in m.to_dict().items() if k != "vms"},
             "vms": [x["name"] for x in cloud.vms() if x["vpc"] == n]} for n, m in cloud.world.vpcs.items()]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
    else:
        report.vpcs(rows)


@vpc.command("create")
@click.argument("name")
@click.option("--tenant", required=True)
@click.option("--type", "kind", type=click.Choice(["l3vpn", "vpls"]), required=True)
@click.option("--subnet", help="address plan (l3vpn; vpls uses its site's LAN)")
@click.option("--site", "sites", multiple=True, help="enterprise site it joins (repeat for several)")
@click.option("--vlan", type=args.VLAN)
@click.option("--port-security", is_flag=True, help="VM ports accept only the VM's own MAC and addresses")
@click.option("--testbed", "-t")
def vpc_create(name, tenant, kind, subnet, sites, vlan, port_security, testbed):
    """Declare a new VPC on a running testbed (validated like a topology's VPC)."""
    _need_root()
    name_tb = args.testbed(testbed)
    with state.locked(name_tb):
        create(name_tb, {"name": name, "tenant": tenant, "type": kind, "subnet": subnet, "sites": list(sites),
                         "vlan": vlan, "port_security": port_security or None})
    click.echo(f"VPC {name} created; attach VMs with `cloudnet-emu vm attach {name}`")


@vpc.command("delete")
@click.argument("name")
@click.option("--testbed", "-t")
def vpc_delete(name, testbed):
    """Delete a VPC that has no VMs."""
    _need_root()
    name_tb = args.testbed(testbed)
    with state.locked(name_tb):
        args.vpc(pipeline.managers(name_tb)[0], name)
        delete(name_tb, name)
    click.echo(f"VPC {name} deleted")


@main.command()
@click.argument("topology", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(), help="FILE.svg (or .png, .dot)")
@click.option("--realize", type=args.REALIZE, help="draw as built with these realizations, e.g. control=static")
def graph(topology, output, realize):
    """Draw TOPOLOGY: sites, routers, switches, VPCs (graphviz); under control=bgp (where FRR runs,
    or as --realize or the topology says) the route reflectors and iBGP sessions too."""
    topo = pipeline.load(topology)
    try:
        control = pipeline.plan_choice(topo, realize).realizations["control"]
    except UnsupportedError as exc:      # a machine that could not build it still draws it, as the topology says
        control = topo.provider.control or "static"
        click.echo(f"note: not buildable here ({'; '.join(exc.missing)[:200]}); drawn with control={control}", err=True)
    g.render(topo, output, control)
    click.echo(f"wrote {output} (control={control})")


@main.command()
@click.argument("where")
@click.option("--testbed", "-t")
@click.option("-w", "write", type=click.Path(), help="write a pcap for Wireshark instead of printing")
@click.option("-c", "count", type=args.POSITIVE, help="stop after COUNT packets")
@click.option("-v", "verbose", is_flag=True, help="decode protocols in full (BGP messages, OSPF LSAs, ...)")
@click.argument("expression", nargs=-1)
def capture(where, testbed, write, count, verbose, expression):
    """Record the link NODE:IFACE (tcpdump inside the node's namespace), or a port of the testbed in
    the root namespace: root:PORT or PORT alone (VM ports cnv-VM, trunks cnt-SERVER, OVS ports).
    EXPRESSION is a tcpdump filter, e.g. `capture p1:pe1 -v tcp port 179` for the BGP messages."""
    _need_root()
    netns, iface = target(args.testbed(testbed), where)
    argv = in_netns(netns or None, ["tcpdump", "-nn", "-e", "-i", iface])
    if write:
        argv += ["-w", write]
    if count:
        argv += ["-c", str(count)]
    if verbose:
        argv.append("-v")
    os.execvp(argv[0], argv + list(expression))


from .reserve import reserve  # noqa: E402  (its own module: the reserve group)

main.add_command(reserve)

from .acl import acl  # noqa: E402  (its own module: the acl group)

main.add_command(acl)

from .ci import ci  # noqa: E402  (its own module: the ci group)

main.add_command(ci)

from .web import web  # noqa: E402  (its own module: the live view)

main.add_command(web)

if __name__ == "__main__":
    main()
