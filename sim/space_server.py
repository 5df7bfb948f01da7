"""One :class:`~sim.space.Space` for robots in several processes.

A run whose robots live in child processes (:mod:`sim.processes`) starts a
:class:`SpaceServer`: a :class:`multiprocessing.managers.BaseManager` server holding one
Space in a process of its own (``python -m sim space SPEC``, started as the robot
processes are: neither forked from a process running Zenoh's threads nor spawned through
multiprocessing, which would re-run the caller's main module) on a Unix socket with a
random authentication key. Each child gets the :class:`SpaceAddress` in its
spec and talks to the same Space through a :class:`SpaceClient`; the parent reads the
figures through :attr:`SpaceServer.space`.

Every Space call is short and never blocks (the bodies wait on their own clocks), so a
remote call costs one round trip on the socket.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing.managers import BaseManager, BaseProxy
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar, cast

from fleet.facility.model import Facility
from sim.errors import ChildFailed
from sim.space import Space, SpaceParams, SpaceReport, Wait, WaitRecord

T = TypeVar("T")

READY_TIMEOUT = 60.0
"""Real seconds the server process may take to serve."""

STOP_TIMEOUT = 10.0
"""Real seconds the server process may take to stop."""

CLIENT_THREADS = 4
"""Connections a :class:`SpaceClient` keeps to the server (calls beyond wait their turn)."""

_served: Space | None = None  # the one Space of a server process (``python -m sim space``)


def _get() -> Space:
    if _served is None:
        raise RuntimeError("the space server has no space yet")
    return _served


class SpaceProxy(BaseProxy):
    """A Space in the server process, seen from here: the methods of
    :class:`~sim.space.Space` (each a round trip; one connection per calling thread)."""

    _exposed_ = ("place", "request_edge", "drive", "halt", "room", "arrive", "report",
                 "records", "waiting", "where", "at", "on", "look", "carry_out")

    def place(self, starts: Mapping[str, str], now: float = 0.0, *,
              source: str | None = None) -> None:
        """See :meth:`Space.place`."""
        self._callmethod("place", (dict(starts), now), {"source": source})

    def request_edge(self, serial: str, a: str, b: str, now: float) -> Wait | None:
        """See :meth:`Space.request_edge`."""
        return cast("Wait | None", self._callmethod("request_edge", (serial, a, b, now)))

    def drive(self, serial: str, f0: float, t0: float, f1: float, t1: float) -> None:
        """See :meth:`Space.drive`."""
        self._callmethod("drive", (serial, f0, t0, f1, t1))

    def halt(self, serial: str, frac: float, now: float, *, node: str | None = None) -> None:
        """See :meth:`Space.halt`."""
        self._callmethod("halt", (serial, frac, now), {"node": node})

    def room(self, serial: str, now: float) -> float:
        """See :meth:`Space.room`."""
        return cast(float, self._callmethod("room", (serial, now)))

    def arrive(self, serial: str, node: str, now: float) -> Wait | None:
        """See :meth:`Space.arrive`."""
        return cast("Wait | None", self._callmethod("arrive", (serial, node, now)))

    def carry_out(self, serial: str, now: float) -> None:
        """See :meth:`Space.carry_out`."""
        self._callmethod("carry_out", (serial, now))

    def report(self, now: float) -> SpaceReport:
        """See :meth:`Space.report`."""
        return cast(SpaceReport, self._callmethod("report", (now,)))

    def records(self, now: float | None = None) -> list[WaitRecord]:
        """See :meth:`Space.records`."""
        return cast(list[WaitRecord], self._callmethod("records", (now,)))

    def waiting(self) -> dict[str, Wait]:
        """See :meth:`Space.waiting`."""
        return cast(dict[str, Wait], self._callmethod("waiting"))

    def where(self, serial: str) -> str | None:
        """See :meth:`Space.where`."""
        return cast("str | None", self._callmethod("where", (serial,)))

    def at(self, node: str) -> tuple[str, ...]:
        """See :meth:`Space.at`."""
        return cast(tuple[str, ...], self._callmethod("at", (node,)))

    def on(self, a: str, b: str) -> tuple[str, ...]:
        """See :meth:`Space.on`."""
        return cast(tuple[str, ...], self._callmethod("on", (a, b)))

    def look(self, now: float) -> None:
        """See :meth:`Space.look`."""
        self._callmethod("look", (now,))


class _Manager(BaseManager):
    pass


_Manager.register("get_space", callable=_get, proxytype=SpaceProxy)


@dataclass(frozen=True)
class SpaceAddress:
    """Where a space server listens and the key it wants (goes to children in their
    spec; the spec file is the run's own, in its private work directory)."""

    socket: str
    authkey: bytes


@dataclass(frozen=True)
class ServerSpec:
    """What ``python -m sim space SPEC`` serves (pickled to the file SPEC)."""

    facility: Facility
    params: SpaceParams
    address: SpaceAddress


class SpaceServer:
    """A Space for ``facility`` served from a process of its own (``python -m sim space``,
    the way robot processes start) on a Unix socket in ``workdir``; a context manager (or
    :meth:`start` / :meth:`stop`)."""

    def __init__(self, facility: Facility, params: SpaceParams, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.address = SpaceAddress(str(workdir / "space.sock"), os.urandom(16))
        # a facility's cached indexes are rebuilt on use, not pickled
        self._spec = ServerSpec(replace(facility), params, self.address)
        self._spec_path = workdir / "space.pickle"
        self._proc: subprocess.Popen[str] | None = None
        self._space: SpaceProxy | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        """Start the server process; returns once it serves (ChildFailed otherwise)."""
        with self._spec_path.open("wb") as f:
            pickle.dump(self._spec, f)
        root = Path(__file__).resolve().parents[1]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH"))
                                            if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "sim", "space", str(self._spec_path)], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self._proc.stdout is not None
        lines: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:  # read to the end: the pipe never fills
                lines.append(line.rstrip())
                if line.strip() == "ready":
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True, name="space-server-out").start()
        if not ready.wait(timeout) or "ready" not in lines:
            self.stop()
            tail = " | ".join(lines[-5:]) or "no output"
            raise ChildFailed(f"space server did not start: {tail}")
        manager = _Manager(address=self.address.socket, authkey=self.address.authkey)
        manager.connect()
        self._space = manager.get_space()  # type: ignore[attr-defined]

    @property
    def space(self) -> SpaceProxy:
        """The served Space, for this process's threads."""
        assert self._space is not None, "the space server is not started"
        return self._space

    def stop(self) -> None:
        """Stop the server process (idempotent)."""
        proc, self._proc = self._proc, None
        self._space = None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT)


def serve(spec_path: Path) -> None:
    """The body of ``python -m sim space SPEC``: serve the spec's Space until killed."""
    global _served
    with spec_path.open("rb") as f:
        spec: ServerSpec = pickle.load(f)  # our own file, written by the parent
    _served = Space(spec.facility, spec.params)
    manager = _Manager(address=spec.address.socket, authkey=spec.address.authkey)
    server = manager.get_server()
    print("ready", flush=True)
    parent = os.getppid()

    def orphaned() -> None:  # a parent killed without stopping us: stop too
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=orphaned, name="space-parent", daemon=True).start()
    server.serve_forever()


class SpaceClient:
    """The Space of a :class:`SpaceServer`, for the bodies of a child process: calls go
    through a few pooled connections (:data:`CLIENT_THREADS`) rather than one per robot
    thread. Implements :class:`~sim.space.SpaceLike` and :meth:`place`."""

    def __init__(self, address: SpaceAddress, threads: int = CLIENT_THREADS) -> None:
        manager = _Manager(address=address.socket, authkey=address.authkey)
        manager.connect()
        self._proxy: SpaceProxy = manager.get_space()  # type: ignore[attr-defined]
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="space")

    def _call(self, fn: Callable[[], T]) -> T:
        return self._pool.submit(fn).result()

    def place(self, starts: Mapping[str, str], now: float = 0.0, *,
              source: str | None = None) -> None:
        """See :meth:`Space.place`."""
        self._call(lambda: self._proxy.place(starts, now, source=source))

    def request_edge(self, serial: str, a: str, b: str, now: float) -> Wait | None:
        """See :meth:`Space.request_edge`."""
        return self._call(lambda: self._proxy.request_edge(serial, a, b, now))

    def drive(self, serial: str, f0: float, t0: float, f1: float, t1: float) -> None:
        """See :meth:`Space.drive`."""
        self._call(lambda: self._proxy.drive(serial, f0, t0, f1, t1))

    def halt(self, serial: str, frac: float, now: float, *, node: str | None = None) -> None:
        """See :meth:`Space.halt`."""
        self._call(lambda: self._proxy.halt(serial, frac, now, node=node))

    def room(self, serial: str, now: float) -> float:
        """See :meth:`Space.room`."""
        return self._call(lambda: self._proxy.room(serial, now))

    def arrive(self, serial: str, node: str, now: float) -> Wait | None:
        """See :meth:`Space.arrive`."""
        return self._call(lambda: self._proxy.arrive(serial, node, now))

    def close(self) -> None:
        """Stop the pool (pending calls finish first)."""
        self._pool.shutdown(wait=True)

