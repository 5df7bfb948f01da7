"""A robot in its own process: ``python -m tests.e2e.robot_main ENDPOINT SERIAL NODE SPEEDUP``.

Prints ``ready`` once its agent runs, then runs until killed (SIGTERM: clean stop)."""

from __future__ import annotations

import signal
import sys
import threading

from tests.e2e.fleetkit import robot


def main() -> None:
    endpoint, serial, node, speedup = sys.argv[1:5]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with robot(endpoint, serial, node, speedup=float(speedup)):
        print("ready", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
