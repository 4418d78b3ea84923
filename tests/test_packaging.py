"""The project as users install and start it: the wheel carries the page and its built assets, and
`uvicorn app.main:app` serves the UI and the API.

Every test starts a real server process on a free loopback port. `python -m build` makes the sdist
and, from it, the wheel, out of a copy of the sources (nothing is written into the checkout); both
must carry the licence and the digits' attribution. The wheel and the sdist are then each installed
into a fresh virtual environment; that environment borrows the test environment's dependencies
through a .pth line, so no package is downloaded, and the test checks that `app` was imported from
the installed package and that it reports the project's version.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import httpx
import pytest
from serving import serving

from app import __version__

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
    # The viewer's one-file bundle travels too: the standalone HTML file (Export → HTML) holds it.
    saved = httpx.post(f"{url}/graph/html", json=CHAIN_RULE, timeout=30)
    assert saved.status_code == 200 and "const mountViewer = " in saved.text
    result = httpx.post(f"{url}/graph/backward", json=CHAIN_RULE, timeout=10).json()
    grads = {node["name"]: node["grad"] for node in result["nodes"] if node["name"]}
    assert (grads["x"], grads["y"], grads["z"]) == (-4.0, -4.0, 3.0)
    # The bundled digits travel with the package: the training examples need them.
    datasets = {entry["name"]: entry for entry in httpx.get(f"{url}/datasets", timeout=10).json()["datasets"]}
    assert datasets["digits"]["available"] is True
    rows = httpx.post(
        f"{url}/graph/forward",
        timeout=10,
        json={
            "expression": "y = sum(x)",
            "inputs": {"x": {"dataset": "digits", "field": "images", "split": "test", "rows": [0]}},
        },
    ).json()
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


# The files a clean clone has that the build reads: git's file list, as a clean clone would have it.
SOURCES = (
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "MANIFEST.in",
    "package.json",
    "package-lock.json",
    "scripts/build_backend.py",
)
LICENCE_FILES = ("LICENSE", "app/datasets/data/DIGITS-LICENSE.txt")


@pytest.fixture(scope="module")
def distributions(built_assets: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel `python -m build` makes (the wheel is built from the sdist)."""
    tmp_path = tmp_path_factory.mktemp("build")
    source = tmp_path / "src"
    for name in SOURCES:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "app", source / "app", ignore=ignore)
    shutil.copytree(ROOT / "chainlens", source / "chainlens", ignore=ignore)
    shutil.copytree(ROOT / "templates", source / "templates")
    shutil.copytree(ROOT / "static" / "src", source / "static" / "src")
    shutil.copy(ROOT / "static" / "build.mjs", source / "static" / "build.mjs")
    shutil.copytree(built_assets, source / "static" / "dist")
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (sdist,) = out.glob("chainlens-*.tar.gz")
    (wheel,) = out.glob("chainlens-*.whl")
    return {"sdist": sdist, "wheel": wheel}


def test_the_sdist_and_the_wheel_carry_the_licences_and_the_version(distributions):
    assert distributions["sdist"].name == f"chainlens-{__version__}.tar.gz"
    assert distributions["wheel"].name == f"chainlens-{__version__}-py3-none-any.whl"
    with tarfile.open(distributions["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
        metadata = sdist.extractfile(f"chainlens-{__version__}/PKG-INFO").read().decode()
    # The sdist holds what a wheel is built from, the UI's sources and its built bundle among them.
    assert set(LICENCE_FILES) | {"static/dist/app.js", "static/src/main.js", "scripts/build_backend.py"} <= names
    with zipfile.ZipFile(distributions["wheel"]) as wheel:
        wheel_names = set(wheel.namelist())
        wheel_metadata = wheel.read(f"chainlens-{__version__}.dist-info/METADATA").decode()
    info = f"chainlens-{__version__}.dist-info/licenses/"
    assert {info + name for name in LICENCE_FILES} <= wheel_names
    # The attribution also sits beside the data it covers, where the installed package reads it.
    assert {
        "app/datasets/data/DIGITS-LICENSE.txt",
        "app/datasets/data/digits.u8.gz",
        "app/templates/index.html",
        "app/static/dist/app.js",
        # the notebook widget's front end (chainlens.show) and the standalone viewer (save_html)
        "app/static/dist/widget.js",
        "app/static/dist/viewer.js",
        "chainlens/widget.py",
        "chainlens/messages.py",
    } <= wheel_names
    # ... and so do the licences of the libraries bundled into app.js.
    assert {
        f"app/static/dist/licenses/{name}" for name in ("d3-LICENSE", "elkjs-LICENSE.md", "katex-LICENSE")
    } <= wheel_names
    assert not any(name.startswith(("app/static/src", "tests/", "scripts/")) for name in wheel_names)
    for text in (metadata, wheel_metadata):
        assert f"\nVersion: {__version__}\n" in text
        assert "\nLicense-Expression: MIT AND CC-BY-4.0\n" in text
        assert "\nLicense-File: app/datasets/data/DIGITS-LICENSE.txt\n" in text
        assert "\nAuthor: the chainlens authors\n" in text
        assert "\nProject-URL: Source, " in text


def _fresh_environment(tmp_path: Path, distribution: Path) -> tuple[str, Path]:
    """A new virtual environment with `distribution` installed by this environment's pip (no
    dependencies, no index: they come from this environment's site-packages, listed after the
    fresh one's). An sdist is built into a wheel by pip first, as a user's pip would."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = str(env_dir / "bin" / "python")
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(site),
            str(distribution),
        ],
        check=True,
    )
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, site


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_the_installed_package_serves_the_template_and_the_built_assets(distributions, kind, tmp_path):
    python, site = _fresh_environment(tmp_path, distributions[kind])
    where = subprocess.run(
        [python, "-c", "import app.api.ui as ui; print(ui.UI_ROOT); print(ui.PACKAGE_DIR)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout.split()
    assert where[0] == where[1] and Path(where[1]).is_relative_to(site), where
    assert (site / "app" / "datasets" / "data" / "DIGITS-LICENSE.txt").is_file()
    version = subprocess.run(
        [python, "-m", "app", "--version"], check=True, capture_output=True, text=True, cwd=tmp_path
    ).stdout
    assert version == f"chainlens {__version__}\n"
    # `import chainlens` from the wheel computes in-process and never imports PyTorch.
    computed = subprocess.run(
        [
            python,
            "-c",
            (
                "import sys, chainlens; r = chainlens.backward('q = x + y\\nf = q * z', x=-2, y=5, z=-4); "
                "print(chainlens.__file__, r.grads['z'], 'torch' in sys.modules)"
            ),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout.split()
    assert Path(computed[0]).is_relative_to(site) and computed[1:] == ["3.0", "False"], computed

    with serving(tmp_path, python) as url:
        _check_page_and_api(url)
        assert httpx.get(f"{url}/healthz", timeout=10).json() == {"status": "ok", "version": __version__}
