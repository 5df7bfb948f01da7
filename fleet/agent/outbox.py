"""Inspection results kept until acknowledged: :class:`ResultOutbox`.

A result is added once (when its ``inspect`` action finishes) and removed when an
``inspectionAck`` lists its ``resultId``, as committed (:meth:`ResultOutbox.ack`) or as
rejected (:meth:`ResultOutbox.reject`: the manager will never accept it as it is, so
resending it is pointless); meanwhile :meth:`ResultOutbox.due` hands it out again for
resending, first ``first_delay`` seconds after it was sent, then after twice that, and so
on, but never less often than every ``max_delay`` seconds.

With a ``path`` the outbox is also a JSON-lines file, one pending result per line (the
result message as published). :meth:`add` appends and fsyncs *before* the result is first
sent, so a result the manager may have seen is never lost by a crash; :meth:`ack` and
:meth:`reject` rewrite the file without the results they remove (write, fsync, rename). On
start the agent loads the file and resends everything in it. A torn last line (a crash
mid-write) or a line that is not a valid result is skipped with a warning, never an
exception.

Times are seconds on the agent's clock. The outbox is thread-safe.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from fleet.errors import OutboxError as OutboxError  # re-exported
from fleet.errors import ProtocolError
from fleet.protocol.codec import decode_object, to_bytes
from fleet.protocol.inspection import InspectionResult
from fleet.protocol.keys import Topic

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    result: InspectionResult
    delay: float
    due: float | None  # None: not sent yet (or the link was down)


class ResultOutbox:
    """Pending inspection results with resend back-off, optionally persisted to ``path``."""

    def __init__(self, path: Path | None = None, *, first_delay: float = 2.0,
                 max_delay: float = 30.0) -> None:
        if first_delay <= 0 or max_delay < first_delay:
            raise ValueError(f"need 0 < first_delay ({first_delay}) <= max_delay ({max_delay})")
        self.path = path
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        if path is not None:
            for result in self._load(path):
                self._pending[result.result_id] = _Pending(result, first_delay, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    @property
    def result_ids(self) -> tuple[str, ...]:
        """The ids of the results not acknowledged yet, oldest first."""
        with self._lock:
            return tuple(self._pending)

    def get(self, result_id: str) -> InspectionResult | None:
        """The pending result ``result_id``, or None when it is not pending."""
        with self._lock:
            pending = self._pending.get(result_id)
            return pending.result if pending is not None else None

    def add(self, result: InspectionResult) -> None:
        """Keep ``result`` (persisting it first) until it is acknowledged.

        Raises :class:`OutboxError` when it cannot be written to the file; the result is
        then kept in memory only.
        """
        with self._lock:
            self._pending[result.result_id] = _Pending(result, self.first_delay, None)
            if self.path is not None:
                line = to_bytes(result.to_json()) + b"\n"
                try:
                    with open(self.path, "ab") as f:
                        f.write(line)
                        f.flush()
                        os.fsync(f.fileno())
                except OSError as exc:
                    raise OutboxError(f"{self.path}: cannot save inspection result "
                                      f"{result.result_id}: {exc.strerror or exc}") from None

    def sent(self, result_id: str, now: float) -> None:
        """Record that ``result_id`` was just published: next resend after its delay."""
        with self._lock:
            pending = self._pending.get(result_id)
            if pending is not None:
                pending.due = now + pending.delay

    def due(self, now: float) -> list[InspectionResult]:
        """The results to publish now (never sent, or whose resend time has come).

        Each one returned counts as sent at ``now`` and its delay doubles (up to the max).
        """
        out = []
        with self._lock:
            for pending in self._pending.values():
                if pending.due is None or pending.due <= now:
                    if pending.due is not None:
                        pending.delay = min(pending.delay * 2, self.max_delay)
                    pending.due = now + pending.delay
                    out.append(pending.result)
        return out

    def flush(self, now: float) -> list[InspectionResult]:
        """Every pending result, to publish at once (after a reconnection); back-off resets."""
        with self._lock:
            for pending in self._pending.values():
                pending.delay = self.first_delay
                pending.due = now + pending.delay
            return [p.result for p in self._pending.values()]

    def next_due(self) -> float | None:
        """The earliest resend time, or None when nothing is pending."""
        with self._lock:
            times = [p.due for p in self._pending.values()]
        if not times:
            return None
        return min((t for t in times if t is not None), default=float("-inf"))

    def ack(self, result_ids: list[str] | tuple[str, ...]) -> list[str]:
        """Forget the acknowledged results; returns the ids that were pending.

        Raises :class:`OutboxError` when the file cannot be rewritten (the results are
        forgotten in memory anyway: the manager has them).
        """
        return self._remove(result_ids)

    def reject(self, result_ids: list[str] | tuple[str, ...]) -> list[str]:
        """Forget results the manager rejected (never to be resent); returns the ids that
        were pending. Raises :class:`OutboxError` as :meth:`ack` does (forgotten anyway)."""
        return self._remove(result_ids)

    def _remove(self, result_ids: list[str] | tuple[str, ...]) -> list[str]:
        with self._lock:
            removed = [r for r in dict.fromkeys(result_ids) if self._pending.pop(r, None)]
            if removed and self.path is not None:
                self._rewrite(self.path)
        return removed

    def _rewrite(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        try:
            with open(tmp, "wb") as f:
                for pending in self._pending.values():
                    f.write(to_bytes(pending.result.to_json()) + b"\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            _fsync_dir(path.parent)
        except OSError as exc:
            raise OutboxError(f"{path}: cannot rewrite the result file: "
                              f"{exc.strerror or exc}") from None

    @staticmethod
    def _load(path: Path) -> list[InspectionResult]:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab"):
                pass  # create it, and learn early that it is writable
            data = path.read_bytes()
        except OSError as exc:
            raise OutboxError(f"{path}: cannot open the result file: "
                              f"{exc.strerror or exc}") from None
        results: dict[str, InspectionResult] = {}
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                message = decode_object(Topic.INSPECTION, json.loads(line))
            except (ValueError, ProtocolError) as exc:  # JSONDecodeError is a ValueError
                logger.warning("%s:%d: skipped a line that is not an inspection result: %s",
                               path, number, exc)
                continue
            assert isinstance(message, InspectionResult)
            results[message.result_id] = message
        return list(results.values())


def _fsync_dir(directory: Path) -> None:
    # makes the rename durable; not every platform lets a directory be opened
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
