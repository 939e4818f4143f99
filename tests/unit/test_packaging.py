"""The wheel: moto and Flask (the local endpoint's server) are only in the `local` extra, and the default
Docker image (AWS only) installs without it."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement  # installed with pytest, which depends on it

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
LOCAL_ONLY = {"moto", "flask"}


def names(requirements: list[str]) -> set[str]:
    return {Requirement(text).name.lower() for text in requirements}


def test_pyproject_names_moto_and_flask_only_in_the_local_extra() -> None:
    project = PYPROJECT["project"]
    assert not names(project["dependencies"]) & LOCAL_ONLY
    extras: dict[str, list[str]] = project["optional-dependencies"]
    for extra, requirements in extras.items():
        if extra != "local":
            assert not names(requirements) & LOCAL_ONLY, extra
    assert "moto" in names(extras["local"])
    # Flask comes with moto's server ("moto[server]"), so the extra holds it without naming it.
    (moto,) = [Requirement(text) for text in extras["local"] if Requirement(text).name == "moto"]
    assert "server" in moto.extras


def test_installed_metadata_puts_moto_and_flask_behind_the_local_extra() -> None:
    """The wheel's METADATA as installed (Requires-Dist): every moto or Flask line carries `extra == "local"`."""
    requires = metadata.requires("pipeline-reconciler") or []
    local_only = [Requirement(text) for text in requires if Requirement(text).name.lower() in LOCAL_ONLY]
    assert local_only, requires
    for requirement in local_only:
        assert requirement.marker is not None, requirement
        assert requirement.marker.evaluate({"extra": "local"}), requirement
        assert not requirement.marker.evaluate({"extra": ""}), requirement
        assert not requirement.marker.evaluate({"extra": "spark"}), requirement


def test_the_default_docker_image_installs_without_the_local_extra() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG WITH_SPARK=false$", dockerfile, re.MULTILINE)
    (default_install,) = re.findall(r"^\s*false\) (pip install [^;]*);;", dockerfile, re.MULTILINE)
    assert default_install.strip() == "pip install ."
