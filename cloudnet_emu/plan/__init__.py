"""The plan: a validated Topology turned into the kernel objects that realize it.

`actions.py` is the vocabulary (namespaces, veths, VRFs, tunnels, routes, OVS
bridges...), `addressing.py` hands out provider addresses and labels, `choose.py`
picks a realization per construct from what the kernel offers, and `build.py`
walks the topology and writes the plan.  Nothing here touches the kernel, so
the whole plan can be printed (`cloudnet-emu plan`) and unit-tested without root.
"""
