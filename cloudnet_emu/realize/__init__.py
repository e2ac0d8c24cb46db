"""Realization: a Plan applied to the kernel and Open vSwitch, and taken away again."""
