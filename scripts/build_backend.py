"""The project's build backend: setuptools's, with the UI bundle built first when it is missing.

The wheel serves the page from static/dist (carried as app/static), which only `npm run build`
makes. A clean clone has no static/dist, so `python -m build` (the sdist, then the wheel from the
sdist) would otherwise make a wheel whose page says "not built yet". Here building the sdist or
the wheel starts by building the bundle when static/dist/app.js is missing (`npm ci` first when
node_modules is missing), and stops with a message saying what to install when npm is not there.
Where the bundle is built already (make serve, make test, the Dockerfile's assets stage, a wheel
built from our sdist, which carries it) nothing is run. Editable installs need no bundle: the
checkout's static/ is served from where it is.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 (every hook this module does not change)


def _ensure_ui_bundle() -> None:
    root = Path.cwd()
    if (root / "static" / "dist" / "app.js").is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "chainlens: the UI bundle (static/dist) is not built and npm is not installed; install "
            "Node.js 18 or newer, or run `npm ci && npm run build` where it is, then build again"
        )
    if not (root / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=root, check=True)
    subprocess.run([npm, "run", "build"], cwd=root, check=True)


def build_sdist(sdist_directory: str, config_settings: dict[str, object] | None = None) -> str:
    _ensure_ui_bundle()
    return _setuptools.build_sdist(sdist_directory, config_settings)


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, object] | None = None,
    metadata_directory: str | None = None,
) -> str:
    _ensure_ui_bundle()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
