"""The project as users install and start it: the wheel carries the page and its built assets, and
`uvicorn app.main:app` serves the UI and the API.

Both tests start a real server process on a free loopback port. The wheel test builds the wheel
from a copy of the sources (nothing is written into the checkout) and installs it into a fresh
virtual environment; that environment borrows the test environment's dependencies through a .pth
line, so no package is downloaded, and the test checks that `app` was imported from the wheel.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import httpx
import pytest
from serving import serving

ROOT = Path(__file__).resolve().parent.parent
CHAIN_RULE = {"expression": "q = x + y\nf = q * z", "inputs": {"x": -2, "y": 5, "z": -4}}


def _check_page_and_api(url: str) -> None:
    page = httpx.get(f"{url}/", timeout=10)
    assert page.status_code == 200
    assert "not built yet" not in page.text
    scripts = re.findall(r'src="([^"]+\.js)"', page.text)
    styles = re.findall(r'href="([^"]+\.css)"', page.text)
    assert scripts and styles, "the page names no script or stylesheet"
    for asset in scripts + styles:
        answer = httpx.get(asset if asset.startswith("http") else f"{url}{asset}", timeout=10)
        assert answer.status_code == 200 and len(answer.content) > 1000, asset
    worker = httpx.get(f"{url}/static/dist/elk-worker.min.js", timeout=10)
    assert worker.status_code == 200
    result = httpx.post(f"{url}/graph/backward", json=CHAIN_RULE, timeout=10).json()
    grads = {node["name"]: node["grad"] for node in result["nodes"] if node["name"]}
    assert (grads["x"], grads["y"], grads["z"]) == (-4.0, -4.0, 3.0)
    # The bundled digits travel with the package: the training examples need them.
    datasets = {entry["name"]: entry for entry in httpx.get(f"{url}/datasets", timeout=10).json()["datasets"]}
    assert datasets["digits"]["available"] is True
    rows = httpx.post(f"{url}/graph/forward", timeout=10, json={"expression": "y = sum(x)", "inputs": {
        "x": {"dataset": "digits", "field": "images", "split": "test", "rows": [0]}}}).json()
    assert rows["nodes"][rows["output"]]["value"] > 0


@pytest.fixture(scope="module")
def built_assets() -> Path:
    dist = ROOT / "static" / "dist"
    if not (dist / "app.js").is_file():
        pytest.fail("the UI is not built: run `npm ci && npm run build` (make test does it)")
    return dist


def test_uvicorn_app_main_app_serves_the_ui_and_the_api(built_assets):
    with serving(ROOT) as url:
        _check_page_and_api(url)


def test_the_wheel_carries_the_template_and_the_built_assets(built_assets, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "app", source / "app", ignore=ignore)
    shutil.copytree(ROOT / "chainlens", source / "chainlens", ignore=ignore)
    shutil.copytree(ROOT / "templates", source / "templates")
    shutil.copytree(built_assets, source / "static" / "dist")
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
        check=True,
    )
    (wheel,) = wheels.glob("chainlens-*.whl")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = str(env_dir / "bin" / "python")
    site = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip())
    # Install the wheel with this environment's pip into the fresh one, without dependencies;
    # the dependencies come from this environment's site-packages, listed after the fresh one's.
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        check=True,
    )
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    where = subprocess.run(
        [python, "-c", "import app.api.ui as ui; print(ui.UI_ROOT); print(ui.PACKAGE_DIR)"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    ).stdout.split()
    assert where[0] == where[1] and Path(where[1]).is_relative_to(site), where
    # `import chainlens` from the wheel computes in-process and never imports PyTorch.
    computed = subprocess.run(
        [python, "-c", "import sys, chainlens; r = chainlens.backward('q = x + y\\nf = q * z', x=-2, y=5, z=-4); "
                       "print(chainlens.__file__, r.grads['z'], 'torch' in sys.modules)"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    ).stdout.split()
    assert Path(computed[0]).is_relative_to(site) and computed[1:] == ["3.0", "False"], computed

    with serving(tmp_path, python) as url:
        _check_page_and_api(url)
