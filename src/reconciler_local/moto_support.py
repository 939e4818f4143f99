"""Which moto releases the endpoint supports, and the check that refuses any other before serving.

The endpoint grafts onto moto's private internals (`moto_api.py` lists them), which move between patch
releases: moto 5.2.6 removed `GlueResponse.parameters`, and an endpoint on it answered HTTP 500 to every
grafted Glue operation. So the supported range is exactly the releases the suite has passed on, declared
here once; pyproject.toml's `[local]` extra says the same (tests/unit/test_moto_range.py checks they agree).

This module imports nothing from moto: it must answer before moto's modules (or our grafts onto them) are
imported, since a moved private name can already fail at import time.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import re
import shlex
import shutil
import sys

from reconciler.errors import LocalEndpointError

# The moto releases the suite has passed on (a PEP 440 specifier: comma-separated clauses of ==, !=, <, <=, >, >=
# on plain release numbers). Widen it only with the whole suite green on the new release.
SUPPORTED = "==5.2.6"
REQUIREMENT = f"moto[events,glue,iam,logs,quicksight,s3,sns,sts]{SUPPORTED}"
ALLOW_VARIABLE = "RECONCILER_LOCAL_ALLOW_UNTESTED_MOTO"

log = logging.getLogger("reconciler_local")

_CLAUSE = re.compile(r"^\s*(==|!=|<=|>=|<|>)\s*([0-9]+(?:\.[0-9]+)*)\s*$")
_RELEASE = re.compile(r"^[0-9]+(?:\.[0-9]+)*$")


class UnsupportedMotoError(LocalEndpointError):
    """The installed moto is not one the endpoint's grafts were tested on."""


def _release(text: str) -> tuple[int, ...]:
    parts = [int(part) for part in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:  # 5.2 == 5.2.0, as PEP 440 compares releases
        parts.pop()
    return tuple(parts)


def satisfies(version: str, specifier: str = SUPPORTED) -> bool:
    """Whether `version` is in `specifier`. A version that is not a plain release (5.3.0.dev1, 5.2.6rc1,
    5.2.6+local) is outside every range: the suite never ran on it."""
    if not _RELEASE.match(version):
        return False
    have = _release(version)
    for clause in specifier.split(","):
        match = _CLAUSE.match(clause)
        if match is None:
            raise ValueError(f"unsupported specifier clause {clause!r} in {specifier!r}")
        operator, bound = match.group(1), _release(match.group(2))
        if not {
            "==": have == bound, "!=": have != bound, "<": have < bound,
            "<=": have <= bound, ">": have > bound, ">=": have >= bound,
        }[operator]:
            return False
    return True


def installed_version() -> str | None:
    """The version of the installed `moto` distribution (its metadata, as pip and uv see it), None if absent."""
    try:
        return importlib.metadata.version("moto")
    except importlib.metadata.PackageNotFoundError:
        return None


def install_command() -> str:
    """A command that installs the supported moto into the Python running now, pasteable as it is."""
    python, requirement = shlex.quote(sys.executable), shlex.quote(REQUIREMENT)
    if importlib.util.find_spec("pip") is not None:
        return f"{python} -m pip install {requirement}"
    # A venv made by uv (scripts/lib/install.sh makes one so) has no pip.
    if shutil.which("uv") is not None:
        return f"uv pip install --python {python} {requirement}"
    return f"{python} -m ensurepip && {python} -m pip install {requirement}"


def check_moto() -> None:
    """Refuse an installed moto outside SUPPORTED (UnsupportedMotoError, exit code 1), unless the environment
    sets RECONCILER_LOCAL_ALLOW_UNTESTED_MOTO=1: then log a warning and go on (the drift check, LATEST=1 bash
    scripts/test.sh, runs so, to let tests/local/test_moto_contract.py name what moved)."""
    version = installed_version()
    if version is not None and satisfies(version):
        return
    shown = f"moto {version} is installed" if version is not None else "moto is not installed"
    if os.environ.get(ALLOW_VARIABLE) == "1":
        log.warning("%s, outside the tested range moto%s; serving anyway (%s=1)", shown, SUPPORTED, ALLOW_VARIABLE)
        return
    raise UnsupportedMotoError(
        f"{shown}, but the local endpoint supports only moto{SUPPORTED} (it grafts onto moto's internals); "
        f"install it with: {install_command()}",
        hint=f"to serve anyway, untested (expect HTTP 500s): export {ALLOW_VARIABLE}=1",
    )
