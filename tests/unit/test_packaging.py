"""The wheel: moto and Flask (the local endpoint's server) are only in the `local` extra, which brings only what
the endpoint uses, and the default Docker image (AWS only) installs without it."""

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
    assert {"moto", "flask", "flask-cors"} <= names(extras["local"])
    # moto's `server` extra would bring CloudFormation's dependencies: only the served services' extras.
    (moto,) = [Requirement(text) for text in extras["local"] if Requirement(text).name == "moto"]
    assert moto.extras == {"events", "glue", "iam", "logs", "quicksight", "s3", "sns", "sts"}


#: what moto's `server` extra brings that the endpoint never imports (about 100 MB installed)
UNUSED = {"cfn-lint", "sympy", "networkx", "docker", "graphql-core", "aws-xray-sdk", "openapi-spec-validator"}


def locked_closure(extra: str) -> set[str]:
    """The packages uv.lock installs for the project's base dependencies plus `extra`."""
    lock = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))
    packages = {package["name"]: package for package in lock["package"]}
    project = packages["pipeline-reconciler"]
    todo = [(d["name"], tuple(d.get("extra", ()))) for d in project["dependencies"]]
    todo += [(d["name"], tuple(d.get("extra", ()))) for d in project["optional-dependencies"][extra]]
    seen: set[str] = set()
    while todo:
        name, wanted = todo.pop()
        package = packages[name]
        more = list(package.get("dependencies", []))
        for each in wanted:
            more += package.get("optional-dependencies", {}).get(each, [])
        if name in seen and not wanted:
            continue
        seen.add(name)
        todo += [(d["name"], tuple(d.get("extra", ()))) for d in more if d["name"] not in seen or d.get("extra")]
    return seen


def test_the_lock_installs_the_endpoint_without_moto_servers_unused_dependencies() -> None:
    closure = locked_closure("local")
    assert {"moto", "flask", "flask-cors", "pyparsing", "py-partiql-parser"} <= closure
    assert not closure & UNUSED, closure & UNUSED


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
    # the first install's case: the base dependencies only, from uv.lock
    (default_extras,) = re.findall(r"^\s*false\) set --([^;]*);;", dockerfile, re.MULTILINE)
    assert default_extras.strip() == ""
    (spark_extras,) = re.findall(r"^\s*true\) set --([^;]*);;\s*\\\n\s*false\)", dockerfile, re.MULTILINE)
    assert spark_extras.split() == ["--extra", "spark", "--extra", "local"]
    installs = re.findall(r"uv sync ([^\n]*)", dockerfile)
    assert len(installs) == 2 and all("--locked" in install for install in installs), installs
