"""Manager processes of one site, for drills: several ``fleet serve`` on one PostgreSQL
database, each with its embedded router on a free loopback port, meshed with the others'
(docs/operations.md, "Two managers"). What a drill does to them is what an operator's
host does: SIGKILL, SIGSTOP and SIGCONT.

:class:`ManagerProcesses` starts them, says who leads (:meth:`ManagerProcesses.members`,
the same answer ``fleet status`` prints) and waits for a leader.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from fleet.comms import Bus, client_config, free_port, tcp_endpoint
from fleet.errors import FleetError, NotReachable
from fleet.manager.leadership import members_key

START_TIMEOUT_S = 30.0


@dataclass
class ManagerProcess:
    """One ``fleet serve`` process."""

    name: str
    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path
    _out: IO[bytes] | None = field(default=None, repr=False)

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process.poll() is None


class ManagerProcesses:
    """``count`` managers of the site ``interface`` on database ``db`` (module docstring).

    ``speed`` is the world's (the simulated robots' clock); ``extra`` are more ``fleet
    serve`` options for every manager; ``peers`` routers of other sites to mesh with.
    Logs go to ``workdir/NAME.log``. Use as a context manager: every process is killed at
    the end.
    """

    def __init__(self, db: str, workdir: Path, *, count: int = 2, interface: str = "uagv",
                 speed: float = 1.0, lease_s: float = 3.0, prefix: str = "m",
                 peers: Sequence[str] = (), extra: Sequence[str] = ()) -> None:
        self.db = db
        self.workdir = workdir
        self.interface = interface
        self.speed = speed
        self.lease_s = lease_s
        self.extra = list(extra)
        self.names = [f"{prefix}{i + 1}" for i in range(count)]
        self.endpoints = {n: tcp_endpoint("127.0.0.1", free_port()) for n in self.names}
        self.peers = list(peers)
        self.procs: dict[str, ManagerProcess] = {}
        self._bus: Bus | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def all_endpoints(self) -> list[str]:
        """Every manager's router: what a robot of the site lists."""
        return list(self.endpoints.values())

    def start(self) -> None:
        """Start every manager; return once one of them leads (FleetError otherwise)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for name in self.names:
            self.spawn(name)
        self.wait_leader(timeout=START_TIMEOUT_S)

    def spawn(self, name: str) -> ManagerProcess:
        """(Re)start manager ``name``."""
        endpoint = self.endpoints[name]
        peers = [e for n, e in self.endpoints.items() if n != name] + self.peers
        command = [sys.executable, "-m", "fleet", "--log-level", "info", "serve",
                   "--db", self.db, "--listen", endpoint, "--name", name,
                   "--interface", self.interface, "--speed", f"{self.speed:g}",
                   "--lease-s", f"{self.lease_s:g}", "--lease-ms", "1000",
                   *(a for p in peers for a in ("--peer", p)), *self.extra]
        log = self.workdir / f"{name}.log"
        out = log.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        proc = self.procs[name] = ManagerProcess(name, endpoint, process, log, out)
        return proc

    def bus(self) -> Bus:
        """A client session of every manager's router (kept until :meth:`close`)."""
        if self._bus is None:
            self._bus = Bus.open(client_config(self.all_endpoints))
        return self._bus

    def members(self, timeout: float = 1.0) -> list[dict[str, Any]]:
        """What each manager process answers ``fleet status`` (the living ones; none while
        no router is up yet)."""
        try:
            bus = self.bus()
        except NotReachable:
            return []
        return bus.gather(members_key(self.interface), timeout=timeout)

    def leaders(self) -> list[str]:
        """The names of the processes that say they lead."""
        return sorted(str(m["name"]) for m in self.members() if m.get("role") == "leader")

    def wait_leader(self, *, timeout: float, other_than: str | None = None) -> tuple[str, float]:
        """Wait for a leader (not ``other_than``); its name and when it was first seen
        leading (``time.monotonic()``). FleetError on timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            leaders = [n for n in self.leaders() if n != other_than]
            if leaders:
                return leaders[0], time.monotonic()
            time.sleep(0.05)
        raise FleetError(f"no manager of {self.interface} leads after {timeout:g} s "
                         f"(logs in {self.workdir})")

    def signal(self, name: str, sig: signal.Signals) -> None:
        """Send ``sig`` to manager ``name``."""
        self.procs[name].process.send_signal(sig)

    def kill(self, name: str) -> None:
        """SIGKILL manager ``name`` and reap it."""
        proc = self.procs[name].process
        proc.kill()
        proc.wait(10)

    def close(self) -> None:
        """Stop every manager (SIGTERM, then SIGKILL), close the session."""
        if self._bus is not None:
            self._bus.close()
            self._bus = None
        for proc in self.procs.values():
            if proc.alive:
                proc.process.send_signal(signal.SIGCONT)
                proc.process.terminate()
        for proc in self.procs.values():
            try:
                proc.process.wait(15)
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait(5)
            if proc._out is not None:
                proc._out.close()
