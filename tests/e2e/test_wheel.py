"""The package as a user installs it: a wheel built from a clean clone, installed into a
fresh virtual environment, runs ``fleet plan`` on a sample mission and ``fleet demo`` from
an empty directory outside any checkout (the samples come with the wheel)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # about two minutes: build, install, then the whole demo


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 400) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([str(a) for a in args], cwd=cwd, env=env, text=True,
                         capture_output=True, timeout=timeout)
    assert run.returncode == 0, f"{args}:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    return run


def test_a_wheel_from_a_clean_clone_plans_and_runs_the_demo_anywhere(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    clone, dist, venv = tmp_path / "clone", tmp_path / "dist", tmp_path / "venv"
    _run("git", "clone", "--quiet", ROOT, clone, cwd=tmp_path)
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, clone,
         cwd=tmp_path)
    (wheel,) = dist.glob("inspection_fleet-*.whl")
    # system site packages: the dependencies are there already; fleet must be the wheel's
    _run(sys.executable, "-m", "venv", "--system-site-packages", venv, cwd=tmp_path)
    python, fleet = venv / "bin" / "python", venv / "bin" / "fleet"
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", wheel,
         cwd=tmp_path)

    here = tmp_path / "anywhere"
    here.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = _run(python, "-c", "import fleet, fleet.samples as s; print(fleet.__file__); "
                 "print(s.root())", cwd=here, env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where

    samples = json.loads(_run(fleet, "samples", "--json", cwd=here, env=env).stdout)
    assert {"coal-mine", "coal-mine-gas-patrol", "demo-coal-mine"} <= {s["name"] for s in samples}

    plan = json.loads(_run(fleet, "plan", "coal-mine-gas-patrol", "--time-limit", "1",
                           "--json", cwd=here, env=env).stdout)
    assert plan["verified"] and plan["robots"]

    demo = _run(fleet, "demo", "--json", cwd=here, env=env)
    summary = json.loads(demo.stdout)
    assert summary["status"] == "completed" and summary["problems"] == []
    assert (here / "fleet-demo" / "report.html").is_file()
    assert sorted(p.name for p in here.iterdir()) == ["fleet-demo"]
