"""The benchmark commands run end to end: bench/run.py at tiny sizes prints all seven figures,
bench/latency.py with a few requests names its three, bench/stages.py prints its stages and tree.

Nothing here is about time: the figures are ratios to report, never to assert.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_bench_tiny_runs_and_prints_every_figure(tmp_path):
    # Needs torch and micrograd, which `make test` installs: a missing one fails here, not skips.
    out = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--tiny", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    stdout = completed.stdout
    assert "machine:" in stdout
    for program in ("repeated line", "constants differ", "names differ"):  # figure 3's in-process stages
        assert re.search(rf"^  {program} +tokenize .* parse .* run .* body .*columns", stdout, re.MULTILINE), stdout
    for figure in (
        "1",
        "1a",
        "1b",
        "1c",
        "1d",
        "1d-r",
        "1d-n",
        "1d-c",
        "1p",
        "2",
        "2a",
        "2c",
        "2m",
        "3",
        "3c",
        "3g",
        "3h",
        "3s",
        "3cs",
        "3gs",
        "3k",
        "3kc",
        "3n",
        "3nc",
        "4",
        "5",
        "6",
        "6p",
        "7",
        "7p",
        "8",
    ):
        assert re.search(rf"^{figure}\s", stdout, re.MULTILINE), f"figure {figure} missing:\n{stdout}"
    data = json.loads(out.read_text())
    ids = {figure["id"] for figure in data["figures"]}
    assert {"1", "2", "3", "4", "5", "6", "6p", "7", "7p", "8"} <= ids
    for figure in data["figures"]:
        assert figure["chainlens"] > 0
        if figure["baseline"] is not None:
            assert figure["baseline"] > 0 and figure["ratio"] > 0


def test_layers_bench_times_every_layer_op():
    from app.engine.layers import LAYERS

    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "layers.py"), "--tiny"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    timed = {line.split()[0] for line in completed.stdout.splitlines()[1:] if line.strip()}
    programs = completed.stdout  # each row is an op's name or a variant of it (gelu_tanh, attention_causal)
    renamed = {"binary_cross_entropy_with_logits": "bce_with_logits", "scaled_dot_product_attention": "attention"}
    missing = [name for name in LAYERS if renamed.get(name, name) not in timed]
    assert not missing, programs
    assert "cnn_step" in timed


def test_latency_runs_and_names_every_figure():
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "latency.py"), "--requests", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    for name in ("machine:", "POST /graph/backward chain-rule", "POST /graph/backward regression-mlp", "GET /healthz"):
        assert name in completed.stdout, f"{name} missing:\n{completed.stdout}"


@pytest.mark.parametrize("program", ["repeated line", "names differ"])
def test_profile_runs_and_prints_stages_and_tree(program):
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "stages.py"), "--nodes", "60", "--requests", "2", "--program", program],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert completed.stdout.startswith(f"{program}, 60 op-nodes"), completed.stdout
    for stage in ("tokenize", "parse", "run", "graph_body", "columns", "total"):
        assert re.search(rf"^  {stage}\s+\d+\.\d+ ms", completed.stdout, re.MULTILINE), completed.stdout
    # The tree names the pipeline's functions, so a rename that breaks the profile shows here.
    for function in ("evaluate", "graph_body"):
        assert function in completed.stdout, completed.stdout
