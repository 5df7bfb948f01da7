"""The fleet manager service (``fleet serve``).

- :mod:`~fleet.manager.service`: :class:`~fleet.manager.service.Manager`, its settings and
  threads (planner, liveness, ingest, alerts).
- :mod:`~fleet.manager.registry`: every robot heard of and what it last said;
  :mod:`~fleet.manager.stateview` the few state fields kept.
- :mod:`~fleet.manager.missions` and :mod:`~fleet.manager.lifecycle`: missions while they
  run, their states and the one place their transitions are decided.
- :mod:`~fleet.manager.dispatch`: planned rounds to VDA 5050 orders.
- :mod:`~fleet.manager.api`: the query API over Zenoh.

Nothing is re-exported here: import from the modules.
"""
