"""Pick one realization per construct from the probe, the user's --realize and --degrade.

    construct   best            fallback         needs
    router      vrf             netns            Linux VRF devices
    core        mpls            vxlan            mpls_router + mpls_iptunnel
    datapath    system          netdev-tso,      openvswitch kernel module; netdev-tso: the userspace
                                netdev           datapath with TSO, where the machine's OVS has it on
    control     bgp             static           FRR (probed); bgp is the default over the VXLAN core only
    delay/loss  netem           (degraded)       sch_netem; bandwidth always uses HTB

control=bgp on an MPLS core is MP-BGP VPNv4 with LDP, which needs kernel VRF devices (the PE's
bgpd holds one instance per VRF device); with VRFs as namespaces it is refused (SpecError, exit 2)
before anything is built: core=vxlan is the way there.  A site with `routing: bgp` (eBGP from its CE
to the VRF's own bgpd) needs control=bgp with VRFs as namespaces; elsewhere it is refused the same way.

Constructs are chosen in this order, so a later one may depend on an earlier choice: `bgp` is not
picked by default over the MPLS core (NOT_OVER says why), where `static` stays the default and `bgp`
is had by forcing it.  A realization is forced by --realize or, for `control`, by the topology's
`provider.control` (--realize wins).  A forced realization the kernel cannot build, or link
delay/loss without netem and without --degrade, is refused before anything is built.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecError, Problem, UnsupportedError
from ..probe import Feature
from ..spec.load import place
from ..spec.model import Topology

CHOICES = {
    "router": (("vrf", ("vrf",)), ("netns", ())),
    "core": (("mpls", ("mpls", "mpls_iptunnel")), ("vxlan", ("vxlan",))),
    "datapath": (("system", ("ovs_kernel_datapath",)), ("netdev-tso", ("ovs_userspace_tso",)), ("netdev", ())),
    "control": (("bgp", ("frr",)), ("static", ())),
}
# A realization left out of the default when an earlier construct got a given realization, and why.
NOT_OVER = {
    "bgp": ("core", "mpls", "over the MPLS core bgp is MP-BGP VPNv4 with LDP, opt-in: "
                            "--realize control=bgp"),
}
WHY = {
    "vrf": "Linux VRF devices, one per tenant on each PE",
    "netns": "one network namespace per logical router (no VRF support in this kernel)",
    "mpls": "MPLS: VPN label under a transport label, P routers swap",
    "vxlan": "VXLAN: one VNI per tenant VPN between PE loopbacks (no MPLS forwarding in this kernel)",
    "system": "Open vSwitch kernel datapath",
    "netdev": "Open vSwitch userspace datapath (no openvswitch kernel module); TX checksumming off on its "
              "ports' veths, so TCP crosses it one MTU-sized segment at a time",
    "netdev-tso": "Open vSwitch userspace datapath with its TCP segmentation offload (the machine's "
                  "other_config:userspace-tso-enable): TCP crosses it in segments of up to 64 KB",
    "static": "static shortest-path core routes and VPN routes written by the planner (no routing daemon)",
    "bgp": "FRR in every provider router: OSPF core, iBGP to the route reflectors; VPLS as EVPN, L3VPN routes by BGP",
}


# The datapath_type Open vSwitch is given for each datapath realization.
OVS_DATAPATH_TYPE = {"system": "system", "netdev": "netdev", "netdev-tso": "netdev"}


def csum_off(datapath: str) -> bool:
    """Whether a veth with an end on the bridges of DATAPATH needs TX checksumming off: a veth hands
    over packets whose TCP/UDP checksum is left to fill (CHECKSUM_PARTIAL); the userspace datapath
    without TSO reads them by AF_PACKET without that note and sends them on unfilled (realize/offload)."""
    return datapath == "netdev"


def default(construct: str, have: dict[str, bool], chosen: dict[str, str]) -> str | None:
    """The first realization of `construct` buildable here and not ruled out by an earlier choice."""
    for name, _ in CHOICES[construct]:
        over = NOT_OVER.get(name)
        if have[name] and not (over and chosen.get(over[0]) == over[1]):
            return name
    return None


@dataclass
class Choice:
    realizations: dict[str, str]
    reasons: dict[str, str]
    shaping_delay: bool
    degradations: list[str]


def parse_forced(text: str | None) -> dict[str, str]:
    """'router=netns,core=vxlan' -> dict; unknown names are a SpecError."""
    forced: dict[str, str] = {}
    problems = []
    for item in filter(None, (text or "").split(",")):
        key, _, value = item.partition("=")
        key, value = key.strip(), value.strip()
        options = [n for n, _ in CHOICES.get(key, ())]
        if key not in CHOICES:
            problems.append(Problem(f"unknown construct {key!r} in --realize", file="--realize",
                                    hint=f"constructs: {', '.join(CHOICES)}"))
        elif value not in options:
            problems.append(Problem(f"unknown realization {value!r} for {key}", file="--realize",
                                    hint=f"{key} can be: {', '.join(options)}"))
        else:
            forced[key] = value
    if problems:
        raise SpecError(problems)
    return forced


def choose(topo: Topology, features: dict[str, Feature], forced: dict[str, str] | None = None,
           degrade: bool = False) -> Choice:
    forced = dict(forced or {})
    by = {c: "--realize" for c in forced}
    if topo.provider.control and "control" not in forced:
        forced["control"], by["control"] = topo.provider.control, "the topology"
    real, reasons, missing = {}, {}, []

    def lacking(needs) -> str:
        return ", ".join(f"{n} ({features.get(n, Feature(False, 'not probed')).detail})"
                         for n in needs if not features.get(n, Feature(False, "")).ok)
    for construct, options in CHOICES.items():
        have = {name: all(features.get(n, Feature(False, "")).ok for n in needs) for name, needs in options}
        if construct in forced:
            name = forced[construct]
            if not have[name]:
                needs = dict(options)[name]
                asked = f"--realize {construct}={name}" if by[construct] == "--realize" else f"provider.control: {name}"
                missing.append(f"{asked} needs {lacking(needs)}")
            real[construct], reasons[construct] = name, f"forced by {by[construct]}: {WHY[name]}"
        else:
            name = default(construct, have, real)
            if name is None:    # nothing of this construct can be built here (the last option's needs say why)
                last, needs = options[-1]
                missing.append(f"{construct}: no realization can be built here; {last} needs {lacking(needs)}")
                continue
            real[construct], reasons[construct] = name, WHY[name]
    netem = features.get("netem", Feature(False, "")).ok
    degradations = []
    if not netem:
        for where, props in _shaped_links(topo):
            if props.delay or props.loss:
                what = " and ".join(x for x in (f"delay {props.delay}" if props.delay else "",
                                                f"loss {props.loss}%" if props.loss else "") if x)
                degradations.append(f"{where}: {what} not applied (no netem in this kernel)")
    if degradations and not degrade:
        missing += [d.replace(" not applied (no netem in this kernel)", " needs sch_netem")
                    for d in degradations]
    if missing:
        if degradations and not degrade:
            missing.append("run with --degrade to build without delay/loss, or use a kernel with "
                           "netem (make test-vm / the Vagrant VM)")
        raise UnsupportedError(missing)
    if (real.get("control"), real.get("core"), real.get("router")) == ("bgp", "mpls", "netns"):
        named = " and ".join(f"{c}={real[c]} ({'forced by ' + by[c] if c in by else 'the best this kernel has'})"
                             for c in ("control", "core", "router"))
        raise SpecError([Problem(f"{named}: MP-BGP VPNv4 over MPLS needs kernel VRF devices, "
                                 "and this combination has VRFs as namespaces", file="--realize",
                                 hint="use --realize core=vxlan (EVPN-carried L3VPNs), or router=vrf on a "
                                      "kernel with VRF devices (make test-vm)")])
    bgp_sites = [(t, s, site.name) for t, tenant in enumerate(topo.tenants) for s, site in enumerate(tenant.sites)
                 if site.routing == "bgp"]
    if bgp_sites and (real.get("control"), real.get("router")) != ("bgp", "netns"):
        # eBGP from the CE ends in the VRF's own bgpd, which runs where the VRF is a namespace
        here = f"control={real.get('control')}, router={real.get('router')}"
        raise SpecError([place(topo, Problem(f"site {name}: routing: bgp needs control=bgp with VRFs as namespaces, "
                                             f"and here {here}", path=("tenants", t, "sites", s, "routing"),
                                             at_value=True,
                                             hint="drop `routing: bgp`, or run with --realize control=bgp,router=netns "
                                                  "where FRR runs (./setup.sh installs it; cloudnet-emu doctor "
                                                  "says what this machine picks)"))
                         for t, s, name in bgp_sites])
    if not features.get("ovs", Feature(False, "")).ok and topo.cloud_sites:
        raise UnsupportedError([f"cloud sites need Open vSwitch: {features['ovs'].detail}"])
    return Choice(real, reasons, netem, degradations)


def _shaped_links(topo: Topology):
    for link in topo.provider.links:
        yield f"link {link.endpoints[0]}--{link.endpoints[1]}", link
    if topo.internet:
        yield f"link {topo.internet.name}--{topo.internet.pe}", topo.internet.link
    for tenant in topo.tenants:
        for site in tenant.sites:
            yield f"link {site.name}--{site.pe}", site.link
    for cloud in topo.cloud_sites:
        yield f"link {cloud.name}--{cloud.pe}", cloud.link
