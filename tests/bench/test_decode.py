"""``bench_decode``: the figures it reports and its argument check."""

from __future__ import annotations

import pytest

from fleet.bench.decode import bench_decode


def test_bench_decode_reports_the_figures() -> None:
    figures = bench_decode(200, reference_n=2)
    assert figures["messages"] == 200 and figures["payload_bytes"] > 1000
    for key in ("decode_per_s", "decode_per_cpu_s", "decode_json_per_cpu_s", "parse_per_s",
                "validate_per_s", "reference_validate_per_s"):
        assert figures[key] > 0
    assert figures["decode_us"] == pytest.approx(1e6 / figures["decode_per_s"])
    with pytest.raises(ValueError):
        bench_decode(0)
