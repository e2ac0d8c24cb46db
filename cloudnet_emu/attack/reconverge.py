"""Case 9: isolation holds while the network reconverges.

Cross-tenant probe streams (iputils ping, 100/s, a marker size) from the attacker VM and from an
enterprise host of its tenant toward the other tenant's VM run while (a) the cloud site's PE
uplink goes down and up again (links.py: kernel link state and routes), and (b) the victim VM
live-migrates to the other cloud site (the Cloud Manager's migrate, Figure 3).  Sniffers in every
namespace of the victim's tenant count deliveries: expected zero.  Control: afterwards a host of
the victim's tenant reaches the migrated VM with a packet of the same shape.
"""
from __future__ import annotations

import time

from .. import links
from ..managers import of_testbed
from ..kernel import ping as kping
from ..kernel.exec import DEVNULL, Popen
from .actors import vm
from ..verdict import Sent
from .result import Result
from .packets import marker_control
from .tools import Env, control, marker_bpf, observe, ping, watch_nodes

LEN, CONTROL_LEN = 1281, 1283
RATE_INTERVAL = "0.01"


def _streams(env: Env, sources: list[str], dst: str) -> list[Popen]:
    return [kping.spawn(env.netns(s), dst, stderr=DEVNULL, interval=RATE_INTERVAL, size=LEN - 28)
            for s in sources]


def _stop(procs) -> tuple[int, int]:
    """(transmitted, received) summed over the streams."""
    tx = rx = 0
    for p in procs:
        sent, got = kping.stats(kping.interrupt(p)) or (0, 0)
        tx, rx = tx + sent, rx + got
    return tx, rx


def reconverge(env: Env) -> Result:
    a, b = vm(env, "atk-a1"), vm(env, "atk-b1")
    host = sorted(h for h in env.hosts(a["tenant"]) if h not in env.vms)[0]
    pe = env.world.clouds[b["site"]].pe
    peer = next(l.b if l.a == pe else l.a for l in env.world.core_links if pe in (l.a, l.b))
    others = sorted(env.world.clouds)
    to = next(c for c in others if c != b["site"])
    victims = env.tenant_nodes(b["tenant"])
    cloud, _ = of_testbed(env.testbed)
    late = None
    with watch_nodes(env, victims, marker_bpf(LEN), marker_control(CONTROL_LEN)) as w:
        procs = _streams(env, [a["name"], host], b["ip"])
        try:
            time.sleep(0.3)
            links.set_link(env.testbed, pe, peer, up=False)
            time.sleep(0.5)
            links.set_link(env.testbed, pe, peer, up=True)
            time.sleep(0.3)
            cloud.migrate(b["name"], to)
            # namespaces of the victim tenant that the migration created (the logical CE at the
            # destination): watched too, while the streams go on
            new = sorted(n for n in env.tenant_nodes(b["tenant"]) if n not in victims or w.replaced(n))
            if new:
                late = watch_nodes(env, new, marker_bpf(LEN), marker_control(CONTROL_LEN))
                with late:
                    time.sleep(0.5)
            else:
                time.sleep(0.3)
        finally:
            (sent_a, rx_a), (sent_h, rx_h) = _stop(procs[:1]), _stop(procs[1:])
    sent, replies = sent_a + sent_h, rx_a + rx_h
    env.reload_vms()
    b = vm(env, b["name"])
    tenant_host = sorted(h for h in env.hosts(b["tenant"]) if h not in env.vms)[0]
    seen = control(env, [b["name"]], CONTROL_LEN, lambda: ping(env, tenant_host, b["ip"], CONTROL_LEN - 28))
    watches = [w] + ([late] if late is not None else [])
    return observe(Result("reconverge", env.realization(), sent=sent,
                          leaked=sum(x.total() for x in watches) + replies, control=seen,
                          leaks=[f"{replies} echo replies reached the attackers"] if replies else [],
                          sent_by=[Sent(a["name"], f"ping stream to {b['ip']}", sent_a),
                                   Sent(host, f"ping stream to {b['ip']}", sent_h)],
                          notes=[f"{a['name']} and {host} -> {b['ip']} ({b['tenant']}) during {pe}--{peer} down/up and "
                                 f"the migration of {b['name']} to {to}: delivered "
                                 f"{dict(w.seen(), **(late.seen() if late else {})) or 'nowhere'}, "
                                 f"replies {replies}; watched {len(victims)} + {len(watches) - 1} later"]), *watches)
