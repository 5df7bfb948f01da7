"""The simulator: simulated robots (on the real ``fleet.agent`` SDK), world, links, faults.

Filled by the simulator issue; nothing in :mod:`fleet` imports it.
"""
