"""Micro-benchmark of state ingestion: decode (parse + validate + build the model).

:func:`bench_decode` times :func:`fleet.protocol.codec.decode` on a realistic ``state``
(a robot half-way through a 10-stop round, ~2.5 kB of JSON) and splits the time into its
parts, including what ``jsonschema``'s reference validator would cost instead of the
compiled one. docs/benchmarks.md quotes its figures (no ``fleet bench`` command runs it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from fleet.protocol import examples
from fleet.protocol.codec import decode, decode_json, encode, warm_up
from fleet.protocol.keys import Topic
from fleet.protocol.validation import fast_validator, reference_validator


def _per_second(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    elapsed = time.perf_counter() - start
    return n / elapsed if elapsed > 0 else float("inf")


def _per_cpu_second(fn: Callable[[], Any], n: int) -> float:
    # CPU time of this process: what a message costs, whatever else shares the machine
    start = time.process_time()
    for _ in range(n):
        fn()
    elapsed = time.process_time() - start
    return n / elapsed if elapsed > 0 else float("inf")


def bench_decode(n: int = 20_000, *, reference_n: int | None = None) -> dict[str, Any]:
    """Time ``n`` decodes of the example state and return the figures (messages per second).

    Keys: ``payload_bytes``, ``messages``, ``decode_per_s`` (the whole path the manager
    runs, wall clock), ``decode_us`` (microseconds per message), ``decode_per_cpu_s`` (the
    same per second of this process's CPU time, steadier on a shared machine),
    ``decode_json_per_cpu_s`` (parse + validate without the model, CPU time),
    ``parse_per_s`` (``json.loads`` alone),
    ``validate_per_s`` (compiled validator alone), ``reference_validate_per_s``
    (``jsonschema`` Draft 2020-12 on ``reference_n`` messages, default ``n // 50``; 0 skips
    it). Runs on one core; the manager's ingestion is bound by the same single core.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    warm_up()
    payload = encode(examples.state())
    obj = json.loads(payload)
    check = fast_validator(Topic.STATE)
    decode(Topic.STATE, payload)  # first call outside the timing
    result: dict[str, Any] = {
        "payload_bytes": len(payload),
        "messages": n,
        "decode_per_s": _per_second(lambda: decode(Topic.STATE, payload), n),
        "parse_per_s": _per_second(lambda: json.loads(payload), n),
        "validate_per_s": _per_second(lambda: check(obj), n),
    }
    result["decode_us"] = 1e6 / result["decode_per_s"]
    result["decode_per_cpu_s"] = _per_cpu_second(lambda: decode(Topic.STATE, payload), n)
    result["decode_json_per_cpu_s"] = _per_cpu_second(
        lambda: decode_json(Topic.STATE, payload), n)
    ref_n = max(1, n // 50) if reference_n is None else reference_n
    if ref_n > 0:
        reference = reference_validator(Topic.STATE)
        reference.is_valid(obj)
        result["reference_validate_per_s"] = _per_second(lambda: reference.is_valid(obj), ref_n)
    return result
