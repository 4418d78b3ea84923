"""The project's one version and its release files: app/__init__.py's __version__ is what the
package metadata, `python -m app --version`, GET /healthz, the page's footer, the Docker image's
label and CHANGELOG.md's newest release say; the licences are where packagers look for them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from fastapi.testclient import TestClient
from packaging.version import Version

from app import __version__
from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent


def test_the_version_is_a_release_version_written_once():
    assert str(Version(__version__)) == __version__ and not Version(__version__).is_prerelease
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "app.__version__"}
    # The UI's package.json is private and carries no version of its own.
    assert "version" not in json.loads((ROOT / "package.json").read_text())


def test_python_m_app_prints_the_version():
    answer = subprocess.run(
        [sys.executable, "-m", "app", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert answer.returncode == 0 and answer.stdout == f"chainlens {__version__}\n"


def test_healthz_and_the_page_show_the_version():
    with TestClient(create_app()) as client:
        assert client.get("/healthz").json() == {"status": "ok", "version": __version__}
        page = client.get("/").text
    assert f'<span id="app-version">{__version__}</span>' in page or f"chainlens {__version__}" in page


def test_the_docker_image_is_labelled_with_the_version_source_and_licence():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG VERSION=(\S+)$", dockerfile, re.M).group(1) == __version__
    runtime = dockerfile[dockerfile.index("AS runtime") :]
    labels = dict(re.findall(r'org\.opencontainers\.image\.(\w+)="([^"]*)"', runtime))
    assert labels["version"] == "${VERSION}" and labels["source"] == "${SOURCE}"
    assert labels["licenses"] == "MIT AND CC-BY-4.0" and labels["title"] == "chainlens" and labels["description"]
    source = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Source"]
    assert re.search(r"^ARG SOURCE=(\S+)$", dockerfile, re.M).group(1) == source


def test_the_changelog_has_the_current_release_and_an_unreleased_section():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## \[([^\]]+)\]", changelog, re.M)
    assert releases[0] == "Unreleased" and releases[1] == __version__
    # Newest first, each with a link at the bottom.
    versions = [Version(v) for v in releases[1:]]
    assert versions == sorted(versions, reverse=True)
    for release in releases:
        assert re.search(rf"^\[{re.escape(release)}\]: \S+", changelog, re.M), release


def test_the_licence_files_are_where_the_metadata_says():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT AND CC-BY-4.0"
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    for name in project["license-files"]:
        assert (ROOT / name).is_file(), name
    attribution = (ROOT / "app" / "datasets" / "data" / "DIGITS-LICENSE.txt").read_text()
    assert all(word in attribution for word in ("CC BY 4.0", "Alpaydin", "Kaynak", "1998", "scikit-learn"))
