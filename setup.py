"""Build step: put the Alembic migrations (and alembic.ini) inside the package.

They stay at the top of the repository (`alembic.ini`, `migrations/`), where `alembic` and the
developers expect them; a built wheel gets a copy at `events_api/_alembic/`, so an installed
`events-api migrate` / `serve` finds them (see events_api.core.migrate). Everything else about
the package is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithMigrations(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install finds them in the source tree
        target = Path(self.build_lib) / "events_api" / "_alembic"
        if target.exists():
            shutil.rmtree(target)
        (target / "migrations").mkdir(parents=True)
        shutil.copy2(HERE / "alembic.ini", target / "alembic.ini")
        shutil.copytree(
            HERE / "migrations",
            target / "migrations",
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )


setup(cmdclass={"build_py": BuildWithMigrations})
