"""The layers hold: ``lint-imports`` keeps every contract of pyproject.toml
(``[tool.importlinter]``; docs/architecture.md draws them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# In a child, so that the packages analysed are this checkout's (first on the path), and
# without a cache, so that the answer is about the files as they are now.
RUN = ("import sys; from importlinter.cli import lint_imports; "
       "sys.exit(lint_imports(no_cache=True, no_logo=True))")


def test_every_import_contract_is_kept() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", RUN], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
    for contract in ("fleet's packages import only the layers below them",
                     "only the CLI may import the simulator"):
        assert f"{contract} KEPT" in done.stdout, done.stdout
