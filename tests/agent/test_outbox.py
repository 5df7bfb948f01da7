"""ResultOutbox: back-off, acknowledgement, and the JSON-lines file across restarts."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.agent.outbox import OutboxError, ResultOutbox
from fleet.protocol import examples
from fleet.protocol.inspection import InspectionResult, new_result_id


def result(result_id: str | None = None) -> InspectionResult:
    return replace(examples.inspection_result(), result_id=result_id or new_result_id())


def test_resends_with_doubling_delay_up_to_the_maximum() -> None:
    box = ResultOutbox(first_delay=1.0, max_delay=4.0)
    r = result()
    box.add(r)
    assert box.due(0.0) == [r], "never sent: due at once"
    sends = [t / 2 for t in range(0, 40) if box.due(t / 2)]
    assert sends == [1.0, 3.0, 7.0, 11.0, 15.0, 19.0], "1, 2, 4, then every 4"
    assert box.next_due() == 23.0


def test_sent_schedules_the_first_resend() -> None:
    box = ResultOutbox(first_delay=2.0, max_delay=30.0)
    r = result()
    box.add(r)
    box.sent(r.result_id, 10.0)
    assert box.due(11.9) == [] and box.due(12.0) == [r]


def test_acknowledged_results_are_never_due_again() -> None:
    box = ResultOutbox(first_delay=1.0, max_delay=1.0)
    a, b = result(), result()
    box.add(a)
    box.add(b)
    assert box.ack([a.result_id, "unknown", a.result_id]) == [a.result_id]
    assert box.result_ids == (b.result_id,)
    assert [r.result_id for r in box.due(100.0)] == [b.result_id]
    box.ack([b.result_id])
    assert box.due(1000.0) == [] and box.next_due() is None and len(box) == 0


def test_rejected_results_are_forgotten_in_memory_and_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    box = ResultOutbox(path, first_delay=1.0, max_delay=1.0)
    a, b = result(), result()
    box.add(a)
    box.add(b)
    assert box.get(a.result_id) == a and box.get("unknown") is None
    assert box.reject([a.result_id, "unknown"]) == [a.result_id]
    assert box.get(a.result_id) is None and box.reject([a.result_id]) == []
    assert [r.result_id for r in box.due(100.0)] == [b.result_id]
    assert ResultOutbox(path).result_ids == (b.result_id,)


def test_flush_returns_everything_and_resets_the_back_off() -> None:
    box = ResultOutbox(first_delay=1.0, max_delay=8.0)
    r = result()
    box.add(r)
    for t in range(30):
        box.due(float(t))
    assert box.flush(100.0) == [r]
    assert box.due(100.5) == [] and box.due(101.0) == [r]


def test_the_file_keeps_pending_results_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "robot" / "results.jsonl"
    box = ResultOutbox(path)
    a, b = result(), result()
    box.add(a)
    box.add(b)
    assert len(path.read_text().splitlines()) == 2
    again = ResultOutbox(path)
    assert again.result_ids == (a.result_id, b.result_id)
    assert again.due(0.0) == [a, b]
    again.ack([a.result_id])
    assert ResultOutbox(path).result_ids == (b.result_id,)
    again.ack([b.result_id])
    assert path.read_text() == "" and not (path.parent / "results.jsonl.tmp").exists()


def test_a_torn_or_foreign_line_is_skipped(tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "results.jsonl"
    good = result()
    line = json.dumps(good.to_json())
    path.write_text(f'{line}\n{{"resultId": "x"}}\n\n{line[:40]}', encoding="utf-8")
    box = ResultOutbox(path)
    assert box.result_ids == (good.result_id,)
    assert sum("skipped a line" in r.getMessage() for r in caplog.records) == 2


def test_an_unusable_file_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(OutboxError, match="cannot open the result file"):
        ResultOutbox(tmp_path)  # a directory


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_loading_never_raises_on_garbage(tmp_path_factory: pytest.TempPathFactory,
                                         junk: bytes) -> None:
    path = tmp_path_factory.mktemp("junk") / "results.jsonl"
    good = result()
    path.write_bytes(json.dumps(good.to_json()).encode() + b"\n" + junk)
    box = ResultOutbox(path)
    assert good.result_id in box.result_ids
