"""The Cloud Manager: placement, VMs, VLANs on the cloud-site switches, logical CEs.

Attach runs Figure 2's four steps in order, each timed:

    1 vm        placement (first-fit | best-fit | worst-fit, or pinned), IPAM, the VM's
                namespace and its port cnv-<vm> (own MAC, address from the VPC's plan)
    2 vlan      the VPC's VLAN in this site (allocated per site), the VM's port an access
                port of it on its server's bridge; server and site switches trunk all VLANs
    3 lce       first VM of the VPC in the site: the logical CE (a VRF `vrf-<vpc>` in the
                site's CE router, or a namespace `<site>.<vpc>`), its leg t<vlan> on an
                access port of the site switch (VPC gateway .1), and the hand-off cable
                u<vlan> toward the PE; for a VPLS VPC only the cable (no router)
    4 vpn       first VM of the VPC in the site: ask the Network Manager for an endpoint
                (EndpointRequest -> EndpointReply), then address the CE's side

        VM ─eth0══cnv-vm─ cnb-<server> ═trunk═ cnb-<site> ─cnl-..══t<vlan>─ logical CE ─u<vlan>══<site>.<vlan>─ PE VRF

CPU and memory are accounted per server (the capacity check); VMs are namespaces without
their own processes here, so there is nothing to cap yet.
"""
from __future__ import annotations

import ipaddress
import re
import time
from typing import Callable, Optional

from .. import naming
from ..errors import PlacementError, StateError
from ..migration import migrate as migration
from ..plan import addressing, choose
from ..plan.actions import Address, Enslave, ForgetMac, Node, OvsPort, Route, Veth
from ..plan.reserve import End, Links
from ..plan.routers import ROUTERS, Placement
from ..realize.apply import deferred_ovs, kept_handles
from ..spec.model import MAC_RE, NAME_RE, POLICIES
from ..world import World
from ..world.parts import Vpc
from ..naming import MAX_NAME
from .ledger import Ledger
from .messages import EndpointRequest, ReleaseRequest, wire
from .moving import Moves
from . import port_security, reserving, rules

VLAN_BASE = 100
NetworkCall = Callable[[str, dict], dict]


class CloudManager(Moves):
    """`executor`: what the ledger hands its actions to (default: the kernel, realize/executor.py;
    managers/paper.py's Paper records them, for tests without root)."""

    def __init__(self, testbed: str, record: dict, network: NetworkCall, executor=None):
        self.testbed = testbed
        self.record = record
        self.world = World.from_info(record["info"])     # read here, never written: `vpc create` writes state.json
        self.real = record["realizations"]
        self.csum_off = choose.csum_off(self.real["datapath"])
        self.network = network
        self.ledger = Ledger(testbed, "cloud", executor)
        self.data = self.ledger.data
        self.data.setdefault("vms", {})
        self.data.setdefault("vlans", {})
        self._server_table: Optional[dict[str, dict]] = None
        self._vm_index: Optional[dict] = None     # see _index()

    # --- queries ---------------------------------------------------------------------
    def servers(self) -> dict[str, dict]:
        """server -> {"site": its cloud site, then its Server dict}: what callers and messages see."""
        return {name: dict(s) for name, s in self._servers().items()}

    def _servers(self) -> dict[str, dict]:
        """servers(), made once (the world is read-only here); not to be changed by callers."""
        if self._server_table is None:
            self._server_table = {name: {"site": site, **srv.to_dict()} for site, c in self.world.clouds.items()
                                  for name, srv in c.servers.items()}
        return self._server_table

    def _index(self) -> dict:
        """What attach asks of every VM, kept instead of recounted (a pass over 3000 VMs per attach
        made `up` quadratic): "used": server -> [vCPUs, MB]; "vpc": VPC -> names of its VMs.  Made
        from data["vms"]; attach adds its VM to it, anything else that adds, removes or moves a VM
        drops it (`_reindex`)."""
        if self._vm_index is None:
            index: dict = {"used": {}, "vpc": {}}
            for vm in self.data["vms"].values():
                self._count(index, vm)
            self._vm_index = index
        return self._vm_index

    @staticmethod
    def _count(index: dict, vm: dict) -> None:
        used = index["used"].setdefault(vm["server"], [0, 0])
        used[0] += vm["vcpus"]
        used[1] += vm["mem_mb"]
        index["vpc"].setdefault(vm["vpc"], []).append(vm["name"])

    def _reindex(self) -> None:
        self._vm_index = None

    def _vpc_vms(self, vpc: str) -> list[dict]:
        return [self.data["vms"][n] for n in self._index()["vpc"].get(vpc, ())]

    def free(self, server: str, exclude: Optional[str] = None) -> tuple[int, int]:
        """(vCPUs, MB) left on a server; `exclude`: as if that VM were not there (it is the one moving)."""
        return self._free_all(exclude)[server]

    def _free_all(self, exclude: Optional[str] = None) -> dict[str, tuple[int, int]]:
        """free() of every server, from one pass over the VMs (placement compares many servers)."""
        used = self._index()["used"]
        left = {name: [s["vcpus"] - used.get(name, (0, 0))[0], s["mem_mb"] - used.get(name, (0, 0))[1]]
                for name, s in self._servers().items()}
        vm = self.data["vms"].get(exclude) if exclude else None
        if vm is not None and vm["server"] in left:
            left[vm["server"]][0] += vm["vcpus"]
            left[vm["server"]][1] += vm["mem_mb"]
        return {name: (c, m) for name, (c, m) in left.items()}

    def vms(self) -> list[dict]:
        return list(self.data["vms"].values())

    def vpc(self, name: str) -> Vpc:
        try:
            return self.world.vpcs[name]
        except KeyError:
            raise StateError(f"no VPC {name!r}; VPCs: {', '.join(self.world.vpcs) or 'none'}") from None

    # --- bandwidth reservations (reserving.py resolves endpoints; the NM admits and realizes) ---
    def reserve(self, name: str, vpc: Optional[str] = None, change: bool = False, **spec) -> dict:
        """Create a reservation, or `change` one: what `spec` gives replaces, the rest stays."""
        if change:
            old = next((r for r in self.reservations() if r["name"] == name), None)
            if old is None:
                self.unreserve(name)            # StateError naming the reservations there are
            vpc, spec = old["vpc"], reserving.changed(old, **spec)
        if vpc is None:
            raise StateError(f"reservation {name}: name its VPC")
        return self.network("reserve", dict(reserving.request(self, name, vpc, **spec), replace=change))

    def unreserve(self, name: str) -> dict:
        return self.network("unreserve", {"name": name})

    def reservations(self) -> list[dict]:
        return self.network("reservations", {})["reservations"]

    # --- step 1: placement -----------------------------------------------------------
    def wan_delay(self, vpc: str, cloud_site: str, near: Optional[str] = None) -> float:
        """Declared one-way WAN delay (ms) from enterprise site `near` (default: the VPC's first
        site) to a cloud site: what placement policy `nearest` minimizes."""
        sites = self.world.sites
        near = near or next(iter(self.vpc(vpc).sites), None)
        if near not in sites:
            raise PlacementError(f"placement `nearest` needs an enterprise site to be near to; {near!r} is not one "
                                 f"(sites: {', '.join(sites) or 'none'})")
        a = End(near, sites[near].subnet, sites[near].pe, near)
        b = End(cloud_site, "0.0.0.0/0", self.world.clouds[cloud_site].pe)
        return Links(self.world).one_way_delay(a, b, declared=True)

    def place(self, vpc: str, site: Optional[str], server: Optional[str], vcpus: int, mem_mb: int,
              policy: str, near: Optional[str] = None, exclude: Optional[str] = None) -> str:
        """The server a VM goes to, or a PlacementError saying why none; `exclude`: a VM that does
        not count against the servers' capacity (a migrating VM is not placed against itself)."""
        servers = self._servers()
        free = self._free_all(exclude).__getitem__
        if server is not None:
            if server not in servers:
                raise PlacementError(f"no server {server!r}; servers: {', '.join(servers)}")
            if site is not None and servers[server]["site"] != site:
                raise PlacementError(f"server {server!r} is in {servers[server]['site']}, not {site}")
            candidates = [server]
        else:
            if site is not None and site not in self.world.clouds:
                raise PlacementError(f"no cloud site {site!r}; sites: {', '.join(self.world.clouds)}")
            candidates = [s for s, v in servers.items() if site is None or v["site"] == site]
        fits = [s for s in candidates if rules.fits(free(s), vcpus, mem_mb)]
        if not fits:
            best = max(candidates, key=free, default=None)
            slot = f"{best} with {free(best)[0]} vCPU and {free(best)[1]} MB free" if best else "none"
            raise PlacementError(f"no server {'in ' + site if site else ''} has {vcpus} vCPU and {mem_mb} MB free "
                                 f"for a VM of {vpc}; the biggest free slot is {slot}".replace("  ", " "))
        if policy == "first-fit":
            return fits[0]
        if policy == "nearest":
            return min(fits, key=lambda s: self.wan_delay(vpc, servers[s]["site"], near))
        key = lambda s: (free(s)[0] - vcpus, free(s)[1] - mem_mb)   # noqa: E731
        return min(fits, key=key) if policy == "best-fit" else max(fits, key=key)

    def _plan_of(self, vpc: str) -> tuple[ipaddress.IPv4Network, str, set]:
        """(subnet, gateway, addresses taken) for the VPC's VMs."""
        v = self.vpc(vpc)
        net = ipaddress.ip_network(v.subnet)
        taken = {vm["ip"] for vm in self._vpc_vms(vpc)}
        if v.type == "vpls":
            site = self.world.sites[v.sites[0]]
            taken |= set(site.hosts.values()) | {site.gateway}
            return net, site.gateway, taken
        gateway = str(net.network_address + 1)
        return net, gateway, taken | {gateway}

    def _address(self, vpc: str, pinned: Optional[str]) -> tuple[str, str, int]:
        net, gateway, taken = self._plan_of(vpc)
        if pinned:
            ip = ipaddress.IPv4Address(pinned)
            if ip not in net or ip in (net.network_address, net.broadcast_address):
                raise PlacementError(f"address {pinned} is not a host address of {vpc}'s subnet {net}")
            if pinned in taken:
                owner = next((n for n, vm in self.data["vms"].items() if vm["ip"] == pinned), "the enterprise LAN")
                raise PlacementError(f"address {pinned} of {vpc} is already taken by {owner}")
            return pinned, gateway, net.prefixlen
        # VPLS VMs share the enterprise LAN: take addresses from the top, enterprise hosts sit at the bottom
        order = reversed(list(net.hosts())) if self.vpc(vpc).type == "vpls" else net.hosts()   # lazily: a /16 has 65534
        ip = next((str(a) for a in order if str(a) not in taken), None)
        if ip is None:
            raise PlacementError(f"{vpc}'s subnet {net} has no free address left")
        return ip, gateway, net.prefixlen

    def _name(self, name: Optional[str]) -> str:
        if name is None:
            return rules.vm_name({n["name"] for n in self.record["nodes"]} | set(self.data["vms"]))
        if not re.match(NAME_RE, name) or len(name) > MAX_NAME:
            raise PlacementError(f"VM name {name!r}: use lower-case letters, digits and '-', at most {MAX_NAME} "
                                 "characters, starting with a letter")
        if name in self.data["vms"] or any(n["name"] == name for n in self.record["nodes"]):
            raise PlacementError(f"the name {name!r} is taken by a node of the testbed")
        return name

    def _mac(self, name: str, pinned: Optional[str], check: bool = True) -> str:
        if pinned:
            macs = {vm["mac"]: n for n, vm in self.data["vms"].items()} if check else {}
            if not re.match(MAC_RE, pinned):
                raise PlacementError(f"MAC {pinned!r}: write it as aa:bb:cc:dd:ee:ff (lower case)")
            if pinned in macs:
                raise PlacementError(f"MAC {pinned} is already used by {macs[pinned]}")
            return pinned
        return addressing.stable_mac(f"{self.testbed}/{name}")

    def _vlan(self, site: str, vpc: str) -> int:
        site_vlans = self.data["vlans"].setdefault(site, {})
        if vpc not in site_vlans:
            pinned = self.vpc(vpc).vlan
            used = set(site_vlans.values())
            vlan = pinned or next(v for v in range(VLAN_BASE, 4095) if v not in used)
            if vlan in used:
                raise PlacementError(f"VLAN {vlan} is already used in {site}")
            site_vlans[vpc] = vlan
            self.ledger.save()
        return site_vlans[vpc]

    @staticmethod
    def _policy(v: Vpc, policy: Optional[str]) -> str:
        """The placement policy asked for, else the VPC's, else first-fit."""
        policy = policy or v.placement or "first-fit"
        if policy not in POLICIES:
            raise PlacementError(f"unknown placement policy {policy!r}; policies: {', '.join(POLICIES)}")
        return policy

    # --- attach: the four steps -------------------------------------------------------
    @kept_handles()     # the netlink handles of the namespaces a call touches, opened once for it
    def attach(self, vpc: str, site: Optional[str] = None, server: Optional[str] = None, vcpus: int = 1,
               mem_mb: int = 512, ip: Optional[str] = None, mac: Optional[str] = None, name: Optional[str] = None,
               policy: Optional[str] = None, near: Optional[str] = None) -> dict:
        v = self.vpc(vpc)
        near, policy = near or v.near, self._policy(v, policy)
        steps: dict[str, float] = {}
        propagated = None        # control=bgp, L3VPN: part of step 4, until every remote VRF routes the VM
        t0 = time.perf_counter()
        # 1. VM creation after placement
        name = self._name(name)
        host = self.place(vpc, site, server, vcpus, mem_mb, policy, near)
        site = self._servers()[host]["site"]
        if v.type == "l3vpn":
            reserving.arrive(self, vpc, site, dry_run=True)     # the VPC's hoses must fit toward its PE
        addr, gateway, plen = self._address(vpc, ip)
        mac = self._mac(name, mac)
        port = naming.vm_port(name)
        vm = {"name": name, "vpc": vpc, "tenant": v.tenant, "type": v.type, "site": site, "server": host,
              "vcpus": vcpus, "mem_mb": mem_mb, "ip": addr, "prefixlen": plen, "mac": mac, "gateway": gateway,
              "port": port, "vlan": None, "steps_ms": {}}
        self.data["vms"][name] = vm
        self._count(self._index(), vm)
        try:
            self.ledger.build(f"vm:{name}", [Node(name, "vm", site=site, tenant=v.tenant)],
                              [Veth(name, "eth0", None, port, a_addr=f"{addr}/{plen}", a_mac=mac, role="vm",
                                    tx_csum_off=self.csum_off),
                               Route(name, "0.0.0.0/0", via=gateway)])
            t1 = time.perf_counter()
            steps["vm"] = t1 - t0
            # 2. VLAN configuration on the switch
            vlan = self._vlan(site, vpc)
            vm["vlan"] = vlan
            self.ledger.build(f"port:{name}", [], [self._port(vm)])
            if v.port_security and self.ledger.pending_ovs is None:   # bulk: after the transaction
                port_security.secure(self, vm)
            t2 = time.perf_counter()
            steps["vlan"] = t2 - t1
            # 3. logical CE (first VM of the VPC in this site) and 4. VPN setup on the PE
            lce = f"lce:{site}/{vpc}"
            reused = self.ledger.has(lce)
            if reused:
                self.ledger.use(lce, name)
                t3 = time.perf_counter()
            else:
                handoff = self._logical_ce(vpc, site, vlan, gateway, plen, name)
                t3 = time.perf_counter()
            steps["lce"] = t3 - t2
            if not reused:
                self._endpoint(vpc, site, vlan, handoff, name)
            if v.type == "l3vpn":
                propagated = self._host_routes(vm)
                if not reused:
                    reserving.arrive(self, vpc, site, dry_run=False)
            steps["vpn"] = time.perf_counter() - t3
        except BaseException:
            self._undo_vm(name)
            raise
        vm["steps_ms"] = {k: round(s * 1000, 2) for k, s in steps.items()}
        vm["steps_ms"]["total"] = round((time.perf_counter() - t0) * 1000, 2)
        if propagated is not None:       # part of step 4 ("vpn"), said apart
            vm["steps_ms"]["propagated"] = propagated
        vm["reused_lce"] = reused
        self.ledger.save()
        return dict(vm)

    @staticmethod
    def _port(vm: dict) -> OvsPort:
        """The VM's access port on its server's bridge, on the VPC's VLAN there."""
        return OvsPort(naming.bridge(vm["server"]), vm["port"], tag=vm["vlan"], ids=(("vm", vm["name"]), ("vpc", vm["vpc"])))

    def _logical_ce(self, vpc: str, site: str, vlan: int, gateway: str, plen: int, user: str) -> str:
        v = self.vpc(vpc)
        tor = naming.handoff(self.testbed, site, vlan, "tor")
        cable = naming.handoff(self.testbed, site, vlan, "pe")
        switch = naming.bridge(site)
        port = OvsPort(switch, tor, tag=vlan, ids=(("vpc", vpc), ("role", "lce")))
        if v.type == "vpls":     # layer 2: a cable from the VLAN's access port straight to the PE
            nodes, actions, meta = [], [Veth(None, tor, None, cable, role="handoff", tx_csum_off=self.csum_off), port], {}
        else:
            ce, nodes, actions = ROUTERS[self.real["router"]].create(site, vpc, v.index)
            # One gateway MAC per VPC in every site (an anycast gateway): a migrated VM's ARP
            # entry for its gateway stays right.
            legs = [Veth(ce.node, f"t{vlan}", None, tor, a_addr=f"{gateway}/{plen}", role="handoff", proxy_arp=True,
                         tx_csum_off=self.csum_off,
                         a_mac=self._mac(f"gateway/{vpc}", None, check=False)),
                    Veth(ce.node, f"u{vlan}", None, cable, role="handoff", tx_csum_off=self.csum_off)]
            actions = list(actions) + legs + [port]
            if ce.master:
                actions += [Enslave(ce.node, f"t{vlan}", ce.master), Enslave(ce.node, f"u{vlan}", ce.master)]
            meta = {"ce": ce.__dict__}
        self.ledger.build(f"lce:{site}/{vpc}", nodes, actions, users=[user], meta=meta)
        return cable

    def _endpoint(self, vpc: str, site: str, vlan: int, handoff: str, user: str):
        v = self.vpc(vpc)
        pe = self.world.clouds[site].pe
        req = EndpointRequest(vpc=vpc, tenant=v.tenant, type=v.type, site=site, pe=pe, vlan=vlan,
                              handoff=handoff, subnet=v.subnet if v.type == "l3vpn" else None,
                              join_site=v.sites[0] if v.type == "vpls" else None)
        reply = self.network("endpoint", wire(req))
        self.ledger.meta(f"lce:{site}/{vpc}")["endpoint"] = reply
        self.ledger.touch(f"lce:{site}/{vpc}")
        if v.type == "l3vpn":
            ce = Placement(**self.ledger.meta(f"lce:{site}/{vpc}")["ce"])
            self.ledger.build(f"uplink:{site}/{vpc}", [], [
                Address(ce.node, f"u{vlan}", reply["ce_addr"]),
                Route(ce.node, "0.0.0.0/0", via=reply["pe_addr"].split("/")[0], dev=f"u{vlan}", table=ce.table)],
                users=[user])
        self.ledger.save()

    def _lce(self, site: str, vpc: str) -> Optional[Placement]:
        unit = f"lce:{site}/{vpc}"
        return Placement(**self.ledger.meta(unit)["ce"]) if self.ledger.has(unit) else None

    def _host_routes(self, vm: dict):
        """Advertise an L3VPN VM (a /32 via the Network Manager), and let the logical CEs of the VPC in
        other sites reach it (a /32 toward their PE; proxy ARP answers the VMs there) and vice versa."""
        reply = self.network("advertise", {"vpc": vm["vpc"], "site": vm["site"], "ip": vm["ip"], "vm": vm["name"]})
        self._remote_routes(vm)
        return reply.get("propagated_ms")     # control=bgp: how long the remote VRFs' kernels took

    def _move_host_routes(self, vm: dict, old_site: str):
        """After a migration: the host route follows the VM to its new PE, the CEs' routes follow."""
        self.network("withdraw", {"vpc": vm["vpc"], "ip": vm["ip"]})
        for unit in [u for u, e in self.ledger.units.items() if u.startswith("remote:") and e["meta"]["vm"] == vm["name"]]:
            self.ledger.undo(unit)
        self._host_routes(vm)
        if self._lce(old_site, vm["vpc"]) is not None and not self.ledger.has(f"remote:{old_site}/{vm['name']}"):
            self._remote_route(old_site, vm, f"remote:{old_site}/{vm['name']}")

    def _remote_routes(self, vm: dict):
        for other in self._vpc_vms(vm["vpc"]):
            if other["site"] == vm["site"] or other["name"] == vm["name"]:
                continue
            for here, there in ((other, vm), (vm, other)):
                unit = f"remote:{here['site']}/{there['name']}"
                if not self.ledger.has(unit):
                    self._remote_route(here["site"], there, unit)

    def _remote_route(self, site: str, vm: dict, unit: str):
        ce = self._lce(site, vm["vpc"])
        vlan = self.data["vlans"][site][vm["vpc"]]
        pe_addr = self.ledger.meta(f"lce:{site}/{vm['vpc']}")["endpoint"]["pe_addr"].split("/")[0]
        self.ledger.build(unit, [], [Route(ce.node, f"{vm['ip']}/32", via=pe_addr, dev=f"u{vlan}", table=ce.table)],
                          meta={"vm": vm["name"], "site": site})

    # --- detach: the steps in reverse -------------------------------------------------
    @kept_handles()
    def detach(self, name: str) -> dict:
        vm = self.data["vms"].get(name)
        if vm is None:
            raise StateError(f"no VM {name!r}; VMs: {', '.join(self.data['vms']) or 'none'}")
        t0 = time.perf_counter()
        released = reserving.pipes_of(self, name) if vm["type"] == "l3vpn" else []
        steps: dict[str, float] = {}
        self._undo_vm(name, steps)
        return {"name": name, "ms": round((time.perf_counter() - t0) * 1000, 2), "released": released,
                "steps_ms": {k: round(v * 1000, 2) for k, v in steps.items()}}

    def _undo_vm(self, name: str, steps: Optional[dict] = None):
        """Undo what attach built for VM `name`, in reverse; with `steps`, the seconds each step took
        (port, vpn, vm, forget, site, applied) are added to it."""
        steps = {} if steps is None else steps
        mark = [time.perf_counter()]

        def step(key: str):
            now = time.perf_counter()
            steps[key] = steps.get(key, 0.0) + now - mark[0]
            mark[0] = now
        vm = self.data["vms"][name]
        site, vpc = vm["site"], vm["vpc"]
        with deferred_ovs():
            # The port first: ovs-vswitchd removes it (closing its socket on the device waits for an
            # RCU grace period) while the rest is undone; its completion is waited for once, below.
            self.ledger.undo(port_security.unit(name))
            self.ledger.undo(f"port:{name}")
            step("port")
            if vm["type"] == "l3vpn":
                for name_ in reserving.pipes_of(self, name):      # a pipe to a VM that is gone
                    self.network("unreserve", {"name": name_})
                self.network("withdraw", {"vpc": vpc, "ip": vm["ip"]})
                for unit in [u for u, e in self.ledger.units.items() if u.startswith("remote:")
                             and e["meta"]["vm"] == name]:
                    self.ledger.undo(unit)
            step("vpn")
            self.ledger.undo(f"vm:{name}")
            step("vm")
            places = self._mac_places(vm)           # before the site's VLAN may go with the last VM
            self._leave_site(name, site, vpc)
            del self.data["vms"][name]
            self._reindex()
            self.ledger.save()
            if vm["type"] == "l3vpn":
                reserving.leave(self, vpc)          # its VPC's hoses may have one PE less to reach
            step("site")
            # Last: ovs-vswitchd answers once it has removed the port (its main loop), so what was
            # undone since then overlapped with the removal.
            self._forget(vm, places)
            step("forget")
        step("applied")

    def _mac_places(self, vm: dict) -> list[tuple[str, int]]:
        """(bridge, VLAN) of every bridge that carried the VM's VPC: where its MAC may be learned."""
        places = []
        for site, vlans in self.data["vlans"].items():
            if vm["vpc"] in vlans:
                bridges = [naming.bridge(site)] + [naming.bridge(s) for s in self.world.clouds[site].servers]
                places += [(br, vlans[vm["vpc"]]) for br in bridges]
        return places

    def _forget(self, vm: dict, places: list[tuple[str, int]]):
        """A detached VM's MAC leaves every switch now, not when it ages out (300 s): one entry per
        bridge that carried the VM's VPC, the other VMs' entries kept (no flooding while they relearn)."""
        if places:
            self.ledger.run([ForgetMac(tuple(places), vm["mac"])])
        if vm["type"] == "vpls":
            self.network("forget", {"vpc": vm["vpc"], "mac": vm["mac"]})

    def _leave_site(self, name: str, site: str, vpc: str):
        """VM `name` no longer uses the VPC's logical CE in `site`: the last one out takes down the
        CE, the PE endpoint and the VLAN."""
        lce = f"lce:{site}/{vpc}"
        if self.ledger.has(lce):
            entry = self.ledger.units[lce]
            if name in entry["users"]:
                entry["users"].remove(name)
                self.ledger.touch(lce)
            if not entry["users"]:
                if "endpoint" in entry["meta"]:
                    self.network("release", wire(ReleaseRequest(vpc, site)))
                for unit in [u for u in self.ledger.units if u.startswith(f"remote:{site}/")
                             and self.data["vms"].get(self.ledger.meta(u)["vm"], {}).get("vpc") == vpc]:
                    self.ledger.undo(unit)
                self.ledger.undo(f"uplink:{site}/{vpc}")
                self.ledger.undo(lce)
                self.data["vlans"].get(site, {}).pop(vpc, None)

    def migrate(self, name: str, to_site: str, to_server: Optional[str] = None, pause_ms: float = 50,
                garp: bool = True) -> dict:
        """Live-migrate VM `name` to another cloud site (Figure 3): migration/migrate.py runs the
        phases, asking this manager for its steps (moving.py) with MoveRequest/MovePlan messages."""
        return migration.migrate(self, name, to_site, to_server, pause_ms, garp)
