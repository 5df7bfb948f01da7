"""``python -m sim robot SPEC``: one simulated robot in its own process.

Started by :class:`sim.processes.ProcessFleet`; prints ``ready`` once its agent runs and
stops cleanly on SIGTERM. ``fleet sim run`` is the command for people.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Run the sub-command in ``argv``; the process's exit code."""
    if len(argv) != 2 or argv[0] != "robot":
        print("usage: python -m sim robot SPEC  (started by fleet sim run --processes)",
              file=sys.stderr)
        return 2
    from sim.processes import run_child

    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_child(Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
