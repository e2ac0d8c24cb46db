"""Talking to the kernel and Open vSwitch: pyroute2 sockets and argv lists, no shell."""
