"""The project's benchmarks, one module per thing measured; ``fleet bench`` prints them.

- :mod:`~fleet.bench.closure`: :func:`benchmark_closure`, the metric closure on a
  generated mine (``fleet bench closure``).
- :mod:`~fleet.bench.plan`: :func:`benchmark_plan`, the whole planner (``fleet bench
  plan``).
- :mod:`~fleet.bench.vrplib`: VRPLIB instances through the solver layer, compared with the
  best known solutions (``fleet bench vrplib``).
- :mod:`~fleet.bench.dispatch`: :func:`bench_dispatch`, order-to-state latency and the
  manager's state ingestion on loopback (``fleet bench dispatch``).
- :mod:`~fleet.bench.ingest`: :func:`bench_ingest`, inspection results stored per second,
  anomaly rules optionally included (``fleet bench ingest``), and :func:`make_results`,
  synthetic results shaped as they arrive.
- :mod:`~fleet.bench.decode`: :func:`bench_decode`, the cost of decoding one state message.

``fleet bench sim`` runs the simulator's benchmark, :mod:`sim.bench`: the simulator is not
part of :mod:`fleet`, so only the CLI reaches it.

This package sits above every core package (it drives them whole) and below the CLI;
docs/benchmarks.md keeps the figures.
"""
