"""Build step that ships the samples: everything else is configured in pyproject.toml.

The sample maps, missions and scenarios stay at the top of the repository (``maps/``,
``missions/``, ``sim/scenarios/``); a wheel gets copies of their ``.yaml`` files and READMEs
under ``fleet/_samples/`` in the same layout, where :mod:`fleet.samples` finds them through
``importlib.resources``. An editable install skips the copy: :mod:`fleet.samples` then reads
the checkout. Keep ``SAMPLE_DIRS`` equal to ``fleet.samples.DIRS`` (a build cannot import
fleet: its dependencies are not installed in the build environment).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SAMPLE_DIRS = ("maps", "missions", "sim/scenarios")
HERE = Path(__file__).resolve().parent


class BuildWithSamples(build_py):
    """``build_py`` plus the sample files copied into ``fleet/_samples``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "fleet" / "_samples"
        for d in SAMPLE_DIRS:
            source = HERE / d
            for f in sorted([*source.glob("*.yaml"), *source.glob("README.md")]):
                out = target / d / f.name
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, out)


setup(cmdclass={"build_py": BuildWithSamples})
