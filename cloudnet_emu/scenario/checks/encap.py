"""`encap: {link, from, to, vlan|vni|mpls|vpn}`: traffic FROM -> TO crosses LINK so encapsulated (tcpdump's text)."""
from __future__ import annotations

from dataclasses import asdict
from typing import Optional, Union

from pydantic import ConfigDict, Field, StrictInt

from ...checks import capture_text, pings
from ...errors import Problem
from ...kernel import sniff
from ...spec.checks import _ref_hint
from ...spec.model import Name, Strict
from ...verdict import Sent, Status, Verdict, Watch, judged
from ..kind import CheckKind
from ..paper import Paper, known
from ..sending import no_namespace, reach_all
from ..world import World


class Encap(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    link: str = Field(description="NODE:IFACE to capture on; root-namespace devices as root:IFACE")
    src: str = Field(alias="from")
    to: str
    vlan: Optional[StrictInt] = Field(None, ge=1, le=4094)
    vni: Optional[StrictInt] = None
    mpls: Optional[Union[bool, list[StrictInt]]] = None
    vpn: Optional[Name] = Field(None, description="a tenant: its L3VPN's encapsulation, whichever the core "
                                                 "realization (MPLS VPN labels or the VXLAN VNI)")


def paper(w: Paper, body: Encap, at: tuple):
    node, colon, iface = body.link.partition(":")
    if not colon or not iface:
        yield Problem(f"link {body.link!r} is not NODE:IFACE", path=at + ("link",), at_value=True,
                      hint="e.g. p1:pe3 (p1's interface toward pe3), or root:cnt-dc1-s1")
    else:
        yield from known(w, node, at + ("link",))
    yield from known(w, body.src, at + ("from",))
    yield from known(w, body.to, at + ("to",))
    if body.vpn is not None and body.vpn not in w.tenants:
        yield Problem(f"unknown tenant {body.vpn!r}", path=at + ("vpn",), at_value=True,
                      hint=_ref_hint(body.vpn, w.tenants, "tenants"))


def run(w: World, e: Encap, expect: str) -> Verdict:
    node, _, iface = e.link.partition(":")
    if e.vpn:       # the tenant's L3VPN, as the core realization carries it
        planned = w.world.vpn.get(e.vpn)
        vpn = planned.to_dict() if planned else {}
        if not vpn:
            for entry in w.network.ledger.units.values():
                if entry["meta"].get("tenant") == e.vpn and "vpn" in entry["meta"]:
                    vpn = entry["meta"]["vpn"]
        if w.record["realizations"]["core"] == "mpls":
            e = e.model_copy(update={"mpls": sorted(set(vpn.get("vpn_labels", {}).values())) or True})
        else:
            e = e.model_copy(update={"vni": vpn.get("vni", 10000 + w.world.tenant_index(e.vpn))})
    dead = no_namespace(w, [e.src] + ([node] if node != "root" else []))
    if dead:
        return judged(Status.ERROR, f"no namespace for {', '.join(dead)}: cannot send or capture")
    if e.vlan:
        bpf = f"vlan {e.vlan}"
    elif e.vni is not None:
        bpf = sniff.vxlan_icmp_bpf()
    else:
        bpf = "mpls"
    replies = {}

    def traffic():
        replies["first"] = reach_all(w, [(e.src, e.to)])[(e.src, e.to)]
        replies["more"] = pings(w.testbed, [(e.src, w.address(e.to))], count=3)[(e.src, w.address(e.to))]
    control = sniff.control_frame("vlan" if e.vlan else "vxlan" if e.vni is not None else "mpls", e.vlan)
    pkts, seen = capture_text(w.netns(node), iface, bpf, traffic, control, timeout=3)
    text = " ".join(pkts)
    proven = any(replies.values())       # the traffic under test was sent and answered
    sent = [asdict(Sent(e.src, f"ICMP echo to {e.to}, answered" if proven else f"ICMP echo to {e.to}, unanswered",
                        4))]
    evidence = {"sent": sent, "watched": [asdict(Watch(e.link, seen, len(pkts)))]}
    if not seen:
        return judged(Status.ERROR, f"capture blind: {e.link} did not see its own control frame (`{bpf}`)", evidence)
    if not text:
        if proven:
            return judged(Status.FAIL, f"nothing matching `{bpf}` on {e.link}, though {e.src} -> {e.to} got replies "
                          "(the traffic does not cross this link, or not so encapsulated)", evidence)
        return judged(Status.ERROR, "nothing captured (is the link carrying traffic?): "
                      f"{e.src} -> {e.to} got no reply either", evidence)
    if e.vlan:
        ok = f"vlan {e.vlan}," in text and w.address(e.to) in text
    elif e.vni is not None:
        ok = f"vni {e.vni} " in text
    elif isinstance(e.mpls, list) and e.vpn:    # a VPN's labels differ per egress PE: any of them
        ok = any(f"label {l}," in text for l in e.mpls)
    elif isinstance(e.mpls, list):              # a stack: all of them
        ok = all(f"label {l}," in text for l in e.mpls)
    else:
        ok = "MPLS (label" in text
    return judged(Status.PASS if ok else Status.FAIL, text, evidence)


def title(body: Encap) -> str:
    what = (f"VLAN {body.vlan}" if body.vlan else f"VNI {body.vni}" if body.vni is not None else
            f"VPN {body.vpn}" if body.vpn else f"MPLS {body.mpls if body.mpls is not True else ''}".strip())
    return f"encap {what} on {body.link} for {body.src} -> {body.to}"


KIND = CheckKind("encap", Encap, paper, run, title, "encapsulation")
