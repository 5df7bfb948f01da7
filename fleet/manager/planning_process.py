"""Plans solved in a process of their own, so that a manager goes on hearing its robots
while it plans: :class:`PlanningProcess`.

Why a process and not the planner thread: a solve holds the interpreter lock for long
stretches. PyVRP's local search and scipy's shortest paths are C++ calls that do not
release it, and networkx is Python; meanwhile the threads that handle the robots' states
(a thousand a second with a thousand robots) wait for the lock, the states queue up, and
robots that did report look silent and are declared lost (docs/benchmarks.md,
"Simulator"). In a process of its own the solver shares nothing with them but the cores.

What a call sends: the function (by name: it must be a module-level function of the
planner) and its arguments, pickled. A site (:class:`~fleet.facility.model.Facility`,
thousands of nodes, with what it derives once: graphs, distances, blocks) crosses once per
site object: both sides name it by a token, and the process keeps the last
:data:`SITES_KEPT` with what it derived from them, as the manager keeps its own. A site
changes by becoming a new object (a closure, a robot lost in a drift), which crosses anew.

The process is the multiprocessing module's (spawn: the manager's threads and Zenoh
sessions are not forked). It is started with the manager, once, and started again when
it died or had to be killed: a call that outlives its time limit by far (:func:`deadline`;
a local search that never ends) kills it, and the call fails with
:class:`~fleet.errors.PlanningError` instead of stopping the manager's planning for ever.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import pickle
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from fleet.errors import FleetError, PlanningError
from fleet.facility.model import Facility

log = logging.getLogger(__name__)

T = TypeVar("T")

SITES_KEPT = 16
"""Sites the process keeps (with what it derived from them) between calls."""

def deadline(time_limit: float) -> float:
    """Real seconds a call with solver budget ``time_limit`` may take before the process is
    killed: four times the budget (the budget bounds each solver run, and a plan may make
    a few, plus building the routing problem) plus a minute for a large site's first
    distances. Only a solve that no longer ends reaches it."""
    return 4.0 * time_limit + 60.0


class _Pickler(pickle.Pickler):
    """Sites by token (``persistent_id``): the other side has them already. ``token``
    names a site, or None to pickle it whole."""

    def __init__(self, file: io.BytesIO, token: Callable[[Facility], str | None]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._token = token
        self.sites: dict[str, Facility] = {}

    def persistent_id(self, obj: Any) -> str | None:
        if type(obj) is Facility:
            token = self._token(obj)
            if token is not None:
                self.sites[token] = obj
            return token
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, sites: dict[str, Facility]) -> None:
        super().__init__(file)
        self._sites = sites

    def persistent_load(self, pid: Any) -> Facility:
        try:
            return self._sites[pid]
        except KeyError:
            raise pickle.UnpicklingError(f"unknown site {pid}") from None


def _dumps(value: Any, token: Callable[[Facility], str | None]
           ) -> tuple[bytes, dict[str, Facility]]:
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, token)
    pickler.dump(value)
    return buffer.getvalue(), pickler.sites


def _loads(data: bytes, sites: dict[str, Facility]) -> Any:
    return _Unpickler(io.BytesIO(data), sites).load()


class _Sites:
    """Sites by token, both ways, the last :data:`SITES_KEPT` (one side's)."""

    def __init__(self) -> None:
        self.by_token: OrderedDict[str, Facility] = OrderedDict()
        self._token_of: dict[int, str] = {}

    def token(self, fac: Facility) -> str:
        token = self._token_of.get(id(fac))
        if token is None or self.by_token.get(token) is not fac:
            token = uuid.uuid4().hex
            self.keep(token, fac)
        else:
            self.by_token.move_to_end(token)
        return token

    def known(self, fac: Facility) -> str | None:
        token = self._token_of.get(id(fac))
        return token if token is not None and self.by_token.get(token) is fac else None

    def keep(self, token: str, fac: Facility) -> None:
        self.by_token[token] = fac
        self._token_of[id(fac)] = token
        while len(self.by_token) > SITES_KEPT:
            _, old = self.by_token.popitem(last=False)
            self._token_of.pop(id(old), None)


def _serve(conn: Connection) -> None:
    """The process: answer calls until the pipe closes."""
    sites = _Sites()
    while True:
        try:
            kind, *rest = conn.recv()
        except (EOFError, OSError):
            return
        if kind == "sites":  # sites the next call names, pickled whole (no caches)
            for token, fac in rest[0].items():
                sites.keep(token, fac)
            continue
        data, needed = rest
        missing = [t for t in needed if t not in sites.by_token]
        if missing:
            conn.send(("need", missing))
            continue
        # errors cross as their message (an exception's own pickling may not survive the
        # trip: its constructor may want more than its message)
        try:
            fn, args, kwargs = _loads(data, dict(sites.by_token))
            value: Any = ("ok", fn(*args, **kwargs))
        except FleetError as exc:
            value = ("error", str(exc))
        except Exception as exc:  # noqa: BLE001 (a planner bug: told to the manager; the process lives on)
            value = ("error", f"the planner failed: {exc!r}")
        try:
            payload, _ = _dumps(value, sites.known)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            payload, _ = _dumps(("error", f"the plan could not be sent: {exc}"), sites.known)
        conn.send(("done", payload))


class PlanningProcess:
    """A planner in a process of its own (see the module docstring); :meth:`call` runs a
    module-level planner function there and returns its value, or raises what it raised
    (a :class:`~fleet.errors.FleetError`). One call at a time (callers wait their turn).
    With ``in_process`` it calls the function directly (tests, small sites)."""

    def __init__(self, *, in_process: bool = False) -> None:
        self.in_process = in_process
        self._lock = threading.Lock()
        self._sites = _Sites()
        self._sent: set[str] = set()
        self._conn: Connection | None = None
        self._proc: BaseProcess | None = None
        self._closed = False
        self.busy = False
        """Whether a call is waiting for the process's answer."""
        self.sites_sent = 0
        """Sites sent to the process so far (each site object once per process)."""
        self.restarts = 0
        """Times the process was started again (it died, or a call outlived its deadline)."""

    def start(self) -> None:
        """Start the process now (it imports the planner meanwhile); calls start it too."""
        if self.in_process:
            return
        with self._lock:
            self._ensure()

    def close(self) -> None:
        """Stop the process for good (any thread: a call under way fails at once with
        PlanningError, and so does every later call)."""
        self._closed = True
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.kill()  # the caller's wait ends (the pipe closes); it cleans up

    def call(self, fn: Callable[..., T], *args: Any, time_limit: float,
             **kwargs: Any) -> T:
        """``fn(*args, time_limit=time_limit, **kwargs)`` in the process. Raises
        PlanningError with the message of what it raised (a FleetError), or when the
        process died or outlived :func:`deadline` (then it is killed and the next call
        starts another)."""
        if self.in_process:
            return fn(*args, time_limit=time_limit, **kwargs)
        with self._lock:
            data, sites = _dumps((fn, args, {"time_limit": time_limit, **kwargs}),
                                 self._sites.token)
            for attempt in range(2):
                conn = self._ensure()
                fresh = {t: f for t, f in sites.items() if t not in self._sent}
                try:
                    if fresh:
                        conn.send(("sites", fresh))
                        self._sent.update(fresh)
                        self.sites_sent += len(fresh)
                    conn.send(("call", data, list(sites)))
                    self.busy = True
                    try:
                        answer = self._answer(conn, time_limit)
                    finally:
                        self.busy = False
                except (EOFError, OSError) as exc:
                    self._kill(failed=True)
                    if attempt:
                        raise PlanningError(f"the planning process died: {exc}") from None
                    continue
                if answer[0] == "need":  # it dropped them meanwhile: send them again
                    self._sent.difference_update(answer[1])
                    continue
                try:
                    status, value = _loads(answer[1], dict(self._sites.by_token))
                except (pickle.UnpicklingError, EOFError, AttributeError) as exc:
                    raise PlanningError(f"the planning process answered nonsense: {exc}"
                                        ) from None
                if status == "error":
                    raise PlanningError(value)
                return value  # type: ignore[no-any-return]
            raise PlanningError("the planning process lost the site maps twice")

    def _answer(self, conn: Connection, time_limit: float) -> tuple[Any, ...]:
        wait = deadline(time_limit)
        if not conn.poll(wait):
            self._kill(failed=True)
            raise PlanningError(f"planning took more than {wait:g} s: the planning process "
                                "was stopped (it starts again for the next plan)")
        answer: tuple[Any, ...] = conn.recv()
        return answer

    def _ensure(self) -> Connection:
        if self._closed:
            self._kill()
            raise PlanningError("the manager is stopping: no more plans")
        if self._proc is not None and self._proc.is_alive() and self._conn is not None:
            return self._conn
        if self._proc is not None:
            log.warning("the planning process ended (exit code %s): starting another",
                        self._proc.exitcode)
            self._kill(failed=True)
        ctx = multiprocessing.get_context("spawn")
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(theirs,), name="fleet-planner", daemon=True)
        proc.start()
        theirs.close()
        self._conn, self._proc = ours, proc
        self._sent.clear()
        return ours

    def _kill(self, *, failed: bool = False) -> None:
        if failed:
            self.restarts += 1
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(10)
        self._conn, self._proc = None, None
        self._sent.clear()
