"""docs/protocol.md stays honest: every JSON example is a valid message of its topic."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fleet.protocol.codec import decode
from fleet.protocol.keys import Topic
from fleet.protocol.validation import reference_validator

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
EXAMPLE = re.compile(r"<!-- example: (\w+) -->\n```json\n(.*?)\n```", re.DOTALL)


def examples() -> list[tuple[str, str]]:
    """(topic, JSON text) of each example marked ``<!-- example: topic -->`` in the doc."""
    return EXAMPLE.findall(DOC.read_text(encoding="utf-8"))


def test_the_doc_has_an_example_of_every_topic() -> None:
    assert {topic for topic, _ in examples()} == {t.value for t in Topic}


@pytest.mark.parametrize("topic, text", examples(), ids=[t for t, _ in examples()])
def test_every_json_example_decodes_and_is_valid(topic: str, text: str) -> None:
    decode(topic, text.encode())
    assert reference_validator(topic).is_valid(json.loads(text))


def test_the_doc_names_every_topic_key() -> None:
    text = DOC.read_text(encoding="utf-8")
    for topic in Topic:
        assert f"`{topic.value}`" in text
    assert "{interface}/v2/{manufacturer}/{serialNumber}/{topic}" in text
    assert "## Manager query API" in text
