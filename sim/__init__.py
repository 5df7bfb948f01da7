"""The simulator: simulated robots (on the real ``fleet.agent`` SDK), world, links, faults.

- :mod:`sim.scenario`: scenario files (map, mission, fleet, world, link, faults).
- :mod:`sim.world`: readings at every node; :mod:`sim.link`: the 5G link model;
  :mod:`fleet.clock`: world time at ``speed`` times real time.
- :mod:`sim.body` (with :mod:`sim.battery`): the simulated ``RobotBody``;
  :mod:`sim.radio`: the Bus a simulated agent talks through.
- :mod:`sim.space`: the site as shared physical space (full nodes, oncoming single-lane
  traffic, following with a gap), the waits it records and, with :mod:`sim.standoffs`, the
  head-on standoffs and deadlocks; :mod:`sim.space_server`: one Space for robots in
  several processes.
- :mod:`sim.robots`: :class:`~sim.robots.SimRobot` and :class:`~sim.robots.SimFleet` (many
  robots in one process); :mod:`sim.processes`: a process per robot, or the whole fleet in
  one process beside the manager.
- :mod:`sim.runner`: :class:`~sim.runner.SimRun`, a scenario end to end (``fleet sim run``),
  and :mod:`sim.progress`, where it stands;
  :mod:`sim.bench`: ``fleet bench sim``.

docs/simulator.md describes it all. Nothing in :mod:`fleet` imports it (the ``fleet sim``
and ``fleet bench sim`` commands import it inside the command).
"""
