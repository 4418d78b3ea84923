"""A Python script run in a fresh interpreter (this environment's), for tests of what a plain
`import chainlens` does with a package missing (sys.modules[name] = None) or never imported."""

from __future__ import annotations

import subprocess
import sys


def printed(script: str) -> str:
    """What `script` prints; the test fails with its stderr if it does not exit cleanly."""
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout
