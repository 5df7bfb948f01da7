"""``python -m sim robot SPEC``: simulated robots in a process of their own;
``python -m sim space SPEC``: the Space they share.

Started by :mod:`sim.processes` and :class:`sim.space_server.SpaceServer`; each prints
``ready`` once it runs; robots stop cleanly on SIGTERM. ``fleet sim run`` is the command
for people.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Run the sub-command in ``argv``; the process's exit code."""
    if len(argv) != 2 or argv[0] not in ("robot", "space"):
        print("usage: python -m sim robot|space SPEC  (started by fleet sim run)",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if argv[0] == "space":
        from sim.space_server import serve

        serve(Path(argv[1]))
        return 0
    from sim.processes import run_child

    run_child(Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
