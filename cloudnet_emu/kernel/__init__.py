"""Talking to the kernel and Open vSwitch: pyroute2 sockets and argv lists, no shell.

The one door: every kernel tool the product runs (ip, bridge, tc, nft, ping, tcpdump, iperf3,
ovs-vsctl/-appctl/-ofctl, FRR's daemons, the agents) is run from a module here (or from
realize/, which builds with them), one module per tool or concern: exec.py (run or start an
argv), ping.py, sniff.py (tcpdump), iperf.py, nft.py, ovs.py, frr.py, facts.py (read-only).

One way to address a namespace: by its netns name, None for the root namespace.  An argv runs
inside it as `ip netns exec NAME argv...`, built by exec.in_netns and nowhere else; in-process
work enters it with ns.enter / ns.rtnl (setns in a thread).  Output is read as JSON where the
tool has it (`ip -j`, `bridge -j`, `nft -j`, `iperf3 -J`, ovsdb JSON); ping and tcpdump have
none, and their text is parsed in one place each (ping.py, sniff.py).
"""
