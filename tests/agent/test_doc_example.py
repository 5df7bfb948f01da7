"""docs/agent.md stays honest: its example integration and the names it documents.

The example itself runs as a program against a real router in test_on_zenoh.py: it
connects, announces itself, drives an order through its base, inspects, resends its result
until acknowledged, and says OFFLINE on SIGTERM.
"""

from __future__ import annotations

import re
from pathlib import Path

from fleet.agent import RobotAgent, progress

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "agent.md"


def example_source() -> str:
    found = re.search(r"<!-- example-agent -->\n```python\n(.*?)\n```",
                      DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert found, "the example integration is missing from docs/agent.md"
    return found.group(1)


def test_the_example_is_about_thirty_lines() -> None:
    lines = [line for line in example_source().splitlines() if line.strip()]
    assert 25 <= len(lines) <= 45, len(lines)


def test_the_doc_names_every_public_name_it_uses() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in ("RobotBody", "ChargingBody", "MoveFailed", "InspectionFailed", "AgentConfig",
                 "Capabilities", "ScaledClock", "Ticker", "result_store", "state_interval"):
        assert f"{name}" in text, name
    error_types = [value for name, value in vars(progress).items()
                   if name.isupper() and isinstance(value, str)]
    assert len(error_types) == 6
    for error in error_types:
        assert f"| `{error}` |" in text, f"docs/agent.md does not explain {error}"
    assert RobotAgent.__doc__
