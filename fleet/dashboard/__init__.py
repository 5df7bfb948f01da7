"""``fleet dashboard``: a live web page of a running manager (docs/dashboard.md).

- :mod:`~fleet.dashboard.state`: :class:`LiveState`, the merged picture of the site;
- :mod:`~fleet.dashboard.feed`: :class:`Feed`, the manager's live messages over one Bus
  session, snapshots on gaps, silence and reconnection, fan-out to the pages;
- :mod:`~fleet.dashboard.access`: who may use it and where it may bind;
- :mod:`~fleet.dashboard.app`: the Starlette application (page, server-sent events, API);
- :mod:`~fleet.dashboard.server`: uvicorn, TLS and client certificates.

It reaches the manager only through :mod:`fleet.comms` (no Zenoh here) and never imports
the simulator.
"""
