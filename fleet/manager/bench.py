"""``fleet bench dispatch``: order-to-state latency with many agents, and state ingestion.

Three processes on loopback: the manager (this one, embedded router), ``agents`` robot
agents sharing one session in a second process, and a state publisher in a third.

- Latency: the manager publishes a one-node order to every agent, ``rounds`` times; each
  sample is the time from the manager's publication to the manager's receipt of that
  robot's first state carrying the new ``orderId`` (a full round trip through the router).
- Ingestion: the publisher sends ``states`` schema-valid state messages of ``robots``
  simulated robots as fast as it can; the figure is the manager's handled states per
  second between the first and the last.

Run the helper processes with ``python -m fleet.manager.bench agents|blast ...``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from fleet.comms.bus import Bus
from fleet.comms.config import client_config, free_port, router_config, tcp_endpoint
from fleet.manager.service import Manager, ManagerSettings
from fleet.protocol.header import Header
from fleet.protocol.order import NodePosition, RouteStop, route_order
from fleet.store import Store

MANUFACTURER = "bench"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def bench_dispatch(*, agents: int = 100, rounds: int = 5, states: int = 20_000,
                   robots: int = 50) -> dict[str, Any]:
    """Run both measurements; returns milliseconds and messages per second."""
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    with tempfile.TemporaryDirectory() as tmp, Store.open(None, path=Path(tmp) / "b.db") as store, \
            Bus.open(router_config([endpoint])) as bus:
        manager = Manager(bus, store, ManagerSettings(robot_timeout=30.0))
        manager.start()
        helper = subprocess.Popen([sys.executable, "-m", "fleet.manager.bench", "agents",
                                   endpoint, str(agents)], stdout=subprocess.PIPE, text=True)
        try:
            _wait(lambda: sum(1 for r in manager.registry.all() if r.state is not None)
                  >= agents, 60, "agents did not come up")
            latencies = _latencies(manager, agents, rounds)
            ingest = _ingest(manager, endpoint, states, robots)
        finally:
            helper.terminate()
            helper.wait(30)
            manager.stop()
    return {
        "agents": agents, "rounds": rounds, "samples": len(latencies),
        "order_to_state_p50_ms": round(statistics.median(latencies), 2),
        "order_to_state_p99_ms": round(_percentile(latencies, 99), 2),
        "order_to_state_max_ms": round(max(latencies), 2),
        **ingest,
    }


def _wait(predicate: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(what)
        time.sleep(0.02)


def _latencies(manager: Manager, agents: int, rounds: int) -> list[float]:
    """One order at a time, to one robot at a time, while every agent keeps publishing its
    periodic state: the latency of a dispatch, not of a burst of 100 simultaneous ones."""
    samples: list[float] = []
    serials = sorted(r.serial for r in manager.registry.all())
    for k in range(rounds):
        for serial in serials:
            order_id = f"bench-{k}-{serial}"
            stop = RouteStop("dock", NodePosition(0.0, 0.0, "L1"))
            order = route_order(Header(MANUFACTURER, serial), order_id, [stop], [], base_end=0)
            with manager.lock:
                manager.order_sent[order_id] = time.perf_counter()
                manager._publish(MANUFACTURER, serial, order)
            _wait(lambda i=order_id: i in manager.order_seen, 10,
                  f"no state with order {order_id}")
            samples.append((manager.order_seen[order_id] - manager.order_sent[order_id]) * 1000)
    return samples


def _ingest(manager: Manager, endpoint: str, states: int, robots: int) -> dict[str, Any]:
    start_count = manager.states_handled
    marks: list[tuple[float, int]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            marks.append((time.perf_counter(), manager.states_handled - start_count))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    cpu0 = time.process_time()
    watcher.start()
    out = subprocess.run([sys.executable, "-m", "fleet.manager.bench", "blast", endpoint,
                          str(states), str(robots)], capture_output=True, text=True,
                         timeout=300, check=True)
    end = time.monotonic() + 30
    while manager.states_handled - start_count < states and time.monotonic() < end:
        time.sleep(0.01)
    time.sleep(0.05)
    done.set()
    watcher.join()
    cpu = time.process_time() - cpu0
    handled = marks[-1][1]  # agents keep publishing: count up to the watcher's last look
    first = next(t for t, n in marks if n > 0)
    last = next(t for t, n in marks if n >= handled)
    return {"states_sent": states, "states_handled": handled,
            "publisher_per_s": round(float(out.stdout.strip() or 0)),
            "manager_states_per_s": round(handled / max(last - first, 1e-9)),
            # the manager's process (router threads included) per CPU-second it used
            "manager_states_per_cpu_s": round(handled / max(cpu, 1e-9))}


def _agents_main(endpoint: str, count: int) -> None:
    from fleet.agent import AgentConfig, Capabilities, Pose, RobotAgent, Ticker

    class Still:
        def position(self) -> Pose:
            return Pose(0.0, 0.0, 0.0, "L1")

        def battery(self) -> tuple[float, bool]:
            return (90.0, False)

        def move_to(self, target: Any, cancel: threading.Event) -> bool:
            return True

        def inspect(self, *args: Any) -> tuple[list[Any], list[Any]]:
            return [], []

    caps = Capabilities(("ch4",), "Gb")
    with Bus.open(client_config([endpoint])) as bus, Ticker() as ticker:
        agents = [RobotAgent(AgentConfig(MANUFACTURER, f"A{i:04d}", caps), Still(), bus=bus,
                             ticker=ticker) for i in range(count)]
        for a in agents:
            a.start()
        stop = threading.Event()
        import signal

        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        stop.wait()
        for a in agents:
            a.stop()


def _blast_main(endpoint: str, count: int, robots: int) -> None:
    import zenoh

    from fleet.protocol.codec import encode
    from fleet.protocol.examples import state
    from fleet.protocol.keys import Topic, topic_key

    with Bus.open(client_config([endpoint])) as bus:
        payloads = []
        for r in range(robots):
            serial = f"S{r:04d}"
            s = state()
            s = replace(s, header=Header(MANUFACTURER, serial, 0, s.header.timestamp))
            payloads.append((topic_key("uagv", MANUFACTURER, serial, Topic.STATE), encode(s)))
        publishers = {key: bus.session.declare_publisher(
            key, encoding=zenoh.Encoding.APPLICATION_JSON,
            congestion_control=zenoh.CongestionControl.BLOCK) for key, _ in payloads}
        t0 = time.perf_counter()
        for i in range(count):
            key, payload = payloads[i % robots]
            publishers[key].put(payload)
        rate = count / (time.perf_counter() - t0)
        time.sleep(0.5)
    print(round(rate))


if __name__ == "__main__":
    if sys.argv[1] == "agents":
        _agents_main(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "blast":
        _blast_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
