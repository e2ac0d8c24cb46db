"""The Cloud Manager's steps of a live migration (Figure 3), asked for by migration/migrate.py.

migrate.py runs the phases and their traffic (the pre-copy stream, freezing the VM's processes,
the gratuitous ARPs); everything that is the Cloud Manager's to decide or change is one of these
steps, called with plain data (messages.py: a MoveRequest in, a MovePlan out and passed back):

    move_plan(MoveRequest)   where the VM goes: placement at the destination (the VM not counted
                             against itself), its reservations admitted on the new path; changes
                             nothing, so a refusal leaves the VM where it was
    move_prepare(MovePlan)   prepare: the VPC's VLAN at the destination, its logical CE and PE
                             endpoint (the Network Manager extends the VPN) if it has none there
    move_phase(MovePlan, p)  the VM's record says `migration: {phase, to}` (what `web` shows)
    move_switch(MovePlan)    stop-and-copy: the VM's port (same veth, MAC, IP) leaves the source
                             server's bridge for the destination's, on the destination VLAN; its
                             port-security rules follow; L3VPN: the host route moves to the new PE
    move_finish(MovePlan)    the source site lets go of the VPC if this was its last VM there; the
                             reservations re-realized on the new path
    move_end(vm)             the phase marker goes (in migrate.py's `finally`)

Each step takes and returns JSON-able dicts, like the Network Manager's interface.
"""
from __future__ import annotations

from ..errors import CloudnetError, PlacementError, StateError
from . import port_security, reserving
from .messages import MovePlan, MoveRequest, wire


class Moves:
    """Mixed into CloudManager: its migration steps (they use its ledger, data and placement)."""

    def move_plan(self, message: dict) -> dict:
        req = MoveRequest(**message)
        vm = self.data["vms"].get(req.vm)
        if vm is None:
            raise StateError(f"no VM {req.vm!r}; VMs: {', '.join(self.data['vms']) or 'none'}")
        if req.to_site == vm["site"] and req.to_server in (None, vm["server"]):
            raise PlacementError(f"{req.vm} is already in {vm['site']} on {vm['server']}: name another site or server")
        policy = req.policy or self.vpc(vm["vpc"]).placement or "first-fit"
        server = self.place(vm["vpc"], req.to_site, req.to_server, vm["vcpus"], vm["mem_mb"], policy, exclude=req.vm)
        reserving.follow(self, req.vm, req.to_site, dry_run=True)     # its reservations must fit on the new path
        dst_site = self.servers()[server]["site"]
        return wire(MovePlan(req.vm, vm["vpc"], vm["site"], vm["server"], dst_site, server, vm["ip"], vm["mac"],
                             vm["mem_mb"], self.world.clouds[dst_site].wan.split("/")[0]))

    def move_phase(self, plan: dict, phase: str) -> None:
        p = MovePlan(**plan)
        self.data["vms"][p.vm]["migration"] = {"phase": phase, "to": f"{p.dst_site}/{p.dst_server}"}
        self.ledger.save()

    def move_prepare(self, plan: dict) -> dict:
        p = MovePlan(**plan)
        vm = self.data["vms"][p.vm]
        self.move_phase(plan, "prepare")
        p.vlan = self._vlan(p.dst_site, p.vpc)
        lce = f"lce:{p.dst_site}/{p.vpc}"
        if self.ledger.has(lce):
            self.ledger.use(lce, p.vm)
        else:
            handoff = self._logical_ce(p.vpc, p.dst_site, p.vlan, vm["gateway"], vm["prefixlen"], p.vm)
            self._endpoint(p.vpc, p.dst_site, p.vlan, handoff, p.vm)
        return wire(p)

    def move_switch(self, plan: dict) -> None:
        p = MovePlan(**plan)
        vm = self.data["vms"][p.vm]
        self.ledger.undo(port_security.unit(p.vm))
        self.ledger.undo(f"port:{p.vm}")
        vm["server"], vm["vlan"], vm["site"] = p.dst_server, p.vlan, p.dst_site
        self._reindex()
        self.ledger.build(f"port:{p.vm}", [], [self._port(vm)])     # the port unit now names the destination
        if port_security.enabled(self, vm):
            port_security.secure(self, vm)
        self.ledger.save()
        if vm["type"] == "l3vpn" and p.dst_site != p.src_site:
            self._move_host_routes(vm, p.src_site)

    def move_finish(self, plan: dict) -> dict:
        p = MovePlan(**plan)
        if p.dst_site != p.src_site:
            self._leave_site(p.vm, p.src_site, p.vpc)
        self.ledger.save()
        # the reservations were admitted on the new path before the move; re-realize them there now
        try:
            return {"reservations": reserving.follow(self, p.vm, p.dst_site, dry_run=False),
                    "reservations_error": None}
        except CloudnetError as exc:         # only if something changed them meanwhile: said, not hidden
            return {"reservations": [], "reservations_error": str(exc)}

    def move_end(self, name: str) -> None:
        vm = self.data["vms"].get(name)
        if vm is not None and vm.pop("migration", None) is not None:
            self.ledger.save()
