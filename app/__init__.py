"""chainlens: computation graphs, values, gradients and every chain-rule step of a user's program."""

import os

# The project's one version: pyproject.toml reads it (dynamic version), and `chainlens --version`,
# GET /healthz, the page's footer and the Docker image's label (tests/test_release.py) show it.
# Raise it with a new CHANGELOG.md section.
__version__ = "0.4.0"

# One BLAS thread per computation unless the environment says otherwise (read by numpy's OpenBLAS
# once, when numpy is first imported, which happens after this package's import). The server runs
# requests in parallel already (app/api/jobs.py), and on the small matrices of these graphs
# OpenBLAS's extra threads only spin: on a loaded 2-core machine the digits training example took
# 52 s with two BLAS threads against 1.0 s with one.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
