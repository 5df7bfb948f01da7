"""``fleet bench dispatch``: order-to-state latency with many agents, and state ingestion.

Three processes on loopback: the manager (this one, embedded router), ``agents`` robot
agents sharing one session in a second process, and a state publisher in a third.

- Latency: the manager publishes a one-node order to every agent, ``rounds`` times; each
  sample is the time from the manager's publication to the manager's receipt of that
  robot's first state carrying the new ``orderId`` (a full round trip through the router).
- Ingestion: the publisher sends ``states`` schema-valid state messages of ``robots``
  simulated robots as fast as it can; the figure is the manager's handled states per
  second between the first and the last.
- Sustained ingestion: the publisher offers ``rate`` states a second for ``seconds``; the
  figure is what the manager handled per second over the same span (equal to the offer
  when it keeps up; lower, and the run longer, when it falls behind).

Run the helper processes with ``python -m fleet.bench.dispatch agents|blast|watch ...``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from fleet.comms.bus import Bus
from fleet.comms.config import client_config, free_port, router_config, tcp_endpoint
from fleet.manager import Manager, ManagerSettings, build_manager
from fleet.protocol.header import Header
from fleet.protocol.order import NodePosition, RouteStop, route_order
from fleet.store import Store

MANUFACTURER = "bench"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``: the nearest rank, no interpolation."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def bench_dispatch(*, agents: int = 100, rounds: int = 5, states: int = 20_000,
                   robots: int = 50, rate: float = 5000.0, seconds: float = 10.0,
                   live: bool = False) -> dict[str, Any]:
    """Run the three measurements; returns milliseconds and messages per second.

    ``manager_states_per_s`` is the most the manager took while a publisher on the same
    cores sent as fast as it could; ``sustained_*`` is a publisher offering ``rate`` states
    a second for ``seconds`` (as a fleet does: robots are not on the manager's machine,
    and a flat-out publisher takes the CPU it measures) and what the manager handled.

    With ``live``, the manager's live feed runs (fleet.manager.live, every 0.5 s) and a
    ``fleet dashboard`` process follows it, its page's event stream read here as a browser
    would; the agents then report a battery
    charge that changes all the time, so every robot's record goes out in every message
    (the feed's worst case). Without, the feed is off.
    """
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    with tempfile.TemporaryDirectory() as tmp, Store.open(None, path=Path(tmp) / "b.db") as store, \
            Bus.open(router_config([endpoint])) as bus:
        manager = build_manager(store, bus, ManagerSettings(
            robot_timeout=30.0, live_interval=0.5 if live else 0.0))
        helper = subprocess.Popen([sys.executable, "-m", "fleet.bench.dispatch", "agents",
                                   endpoint, str(agents), "moving" if live else "still"],
                                  stdout=subprocess.PIPE, text=True)
        watcher = _Dashboard(endpoint) if live else None
        try:
            _wait(lambda: sum(1 for r in manager.registry.all() if r.state is not None)
                  >= agents, 60, "agents did not come up")
            live_at = (manager.live.ticks, manager.live.tick_seconds)
            latencies = _latencies(manager, agents, rounds)
            ticks = manager.live.ticks - live_at[0]
            tick_s = manager.live.tick_seconds - live_at[1]
            _stop(helper)
            heard = _stop_watcher(watcher)
            ingest = _ingest(manager, endpoint, states, robots, 0.0)
            sustained = _ingest(manager, endpoint, round(rate * seconds), robots, rate)
        finally:
            _stop(helper)
            _stop_watcher(watcher)
            manager.stop()
    return {
        "agents": agents, "rounds": rounds, "samples": len(latencies),
        "order_to_state_p50_ms": round(statistics.median(latencies), 2),
        "order_to_state_p99_ms": round(percentile(latencies, 99), 2),
        "order_to_state_max_ms": round(max(latencies), 2),
        "live": live,
        **({"live_ticks": ticks, "live_tick_ms_mean": round(1000 * tick_s / max(ticks, 1), 2),
            **heard} if live else {}),
        **ingest,
        "sustained_offered_per_s": round(rate),
        "sustained_seconds": seconds,
        "sustained_states_handled": sustained["states_handled"],
        "sustained_lag_ms": sustained["lag_ms"],
        "sustained_handled_per_s": sustained["manager_states_per_s"],
        "sustained_manager_cpu_share": sustained["manager_cpu_share"],
    }


def _stop(process: subprocess.Popen[str]) -> None:
    """End a helper process: SIGTERM (a thousand agents take a while to say goodbye),
    SIGKILL after a minute."""
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


class _Dashboard:
    """``fleet dashboard`` in a process of its own, connected to the manager, and a reader
    of its page's event stream (``/api/stream``) in a third process: what a browser would
    receive, read where a browser would be (not in the manager's interpreter, whose lock
    the dispatch latency measures)."""

    def __init__(self, endpoint: str) -> None:
        port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fleet", "dashboard", "--connect", endpoint, "--http",
             f"127.0.0.1:{port}", "--by", "bench"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        self.reader = subprocess.Popen(
            [sys.executable, "-m", "fleet.bench.dispatch", "watch", str(port)],
            stdout=subprocess.PIPE, text=True)

    def stop(self) -> dict[str, Any]:
        """Stop the reader (it prints what the stream carried, per second) and the
        dashboard."""
        out = ""
        if self.reader.poll() is None:
            self.reader.terminate()
            out, _ = self.reader.communicate(timeout=30)
        if self.process.poll() is None:
            _stop(self.process)
        return dict(json.loads(out)) if out.strip() else {}


def _watch_main(port: int) -> None:
    """Read a dashboard's event stream until SIGTERM; print its counts as JSON."""
    import signal
    import urllib.error
    import urllib.request

    count = {"live_deltas": 0, "live_robot_records": 0, "live_bytes": 0, "live_events": 0}
    t0 = [time.monotonic()]
    stop = threading.Event()

    def read() -> None:
        url = f"http://127.0.0.1:{port}/api/stream"
        while not stop.is_set():
            try:
                with urllib.request.urlopen(url, timeout=5) as stream:
                    t0[0], kind = time.monotonic(), ""
                    for raw in stream:
                        line = raw.decode().rstrip("\n")
                        count["live_bytes"] += len(raw)
                        if line.startswith("event: "):
                            kind = line[7:]
                        elif line.startswith("data: ") and kind == "delta":
                            count["live_deltas"] += 1
                            count["live_robot_records"] += len(
                                json.loads(line[6:]).get("robots", ()))
                        elif line.startswith("data: ") and kind == "event":
                            count["live_events"] += 1
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)  # not serving yet

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=read, daemon=True).start()
    stop.wait()
    span = max(time.monotonic() - t0[0], 1e-9)
    print(json.dumps({**count, "live_kb_per_s": round(count["live_bytes"] / 1000 / span, 1),
                      "live_deltas_per_s": round(count["live_deltas"] / span, 2)}))


def _stop_watcher(watcher: _Dashboard | None) -> dict[str, Any]:
    return {} if watcher is None else watcher.stop()


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
                manager.core.send(MANUFACTURER, serial, order)
            _wait(lambda i=order_id: i in manager.order_seen, 10,
                  f"no state with order {order_id}")
            samples.append((manager.order_seen[order_id] - manager.order_sent[order_id]) * 1000)
    return samples


def _ingest(manager: Manager, endpoint: str, states: int, robots: int, offered: float
            ) -> dict[str, Any]:
    """Publish ``states`` states (``offered`` per second, 0 for flat out) from a helper
    process; the agents are stopped by now, so every state handled is one of these."""
    start_count = manager.states_handled
    marks: list[tuple[float, int]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            marks.append((time.time(), manager.states_handled - start_count))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    cpu0 = time.process_time()
    watcher.start()
    out = subprocess.run([sys.executable, "-m", "fleet.bench.dispatch", "blast", endpoint,
                          str(states), str(robots), str(offered)], capture_output=True,
                         text=True, timeout=300, check=True)
    sent = json.loads(out.stdout)
    end = time.monotonic() + 30
    while manager.states_handled - start_count < states and time.monotonic() < end:
        time.sleep(0.01)
    time.sleep(0.05)
    done.set()
    watcher.join()
    cpu = time.process_time() - cpu0
    handled = marks[-1][1]
    caught_up = next(t for t, n in marks if n >= handled)
    span = max(caught_up - sent["t0"], 1e-9)
    return {"states_sent": states, "states_handled": handled,
            "publisher_per_s": round(states / max(sent["t1"] - sent["t0"], 1e-9)),
            "manager_states_per_s": round(handled / span),
            # from the publisher's last state to the manager having handled it
            "lag_ms": round(max(caught_up - sent["t1"], 0.0) * 1000, 1),
            # the manager's process (router threads included) per CPU-second it used
            "manager_states_per_cpu_s": round(handled / max(cpu, 1e-9)),
            # CPU-seconds per wall second while the states came in (1.0 = one core)
            "manager_cpu_share": round(cpu / max(marks[-1][0] - marks[0][0], 1e-9), 2)}


def _agents_main(endpoint: str, count: int, moving: bool) -> None:
    from fleet.agent import AgentConfig, Capabilities, Pose, RobotAgent, Ticker

    class Still:
        def position(self) -> Pose:
            return Pose(0.0, 0.0, 0.0, "L1")

        def battery(self) -> tuple[float, bool]:
            # "moving": a new figure in every state, so each robot's live record changes
            # (a moved robot would not be where its orders start)
            return (50.0 + time.time() % 40.0 if moving else 90.0, False)

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


def _blast_main(endpoint: str, count: int, robots: int, offered: float) -> None:
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
        publishers = {key: bus.transport.publisher(key) for key, _ in payloads}
        t0, w0 = time.perf_counter(), time.time()
        for i in range(count):
            if offered and (i % 50 == 0 or i == count - 1):
                # paced: state i goes out no earlier than i/offered seconds after the first
                # (checked every 50 states, and for the last so the span is honest)
                lead = t0 + i / offered - time.perf_counter()
                if lead > 0:
                    time.sleep(lead)
            key, payload = payloads[i % robots]
            publishers[key].put(payload)
        w1 = time.time()
        time.sleep(0.5)
    print(json.dumps({"t0": w0, "t1": w1}))


if __name__ == "__main__":
    if sys.argv[1] == "agents":
        _agents_main(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "moving")
    elif sys.argv[1] == "blast":
        _blast_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    elif sys.argv[1] == "watch":
        _watch_main(int(sys.argv[2]))
