"""The moto releases the endpoint supports are declared once (reconciler_local.moto_support.SUPPORTED), and the
`[local]` extra and the lock install exactly those."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from reconciler_local.moto_support import REQUIREMENT, SUPPORTED, satisfies

REPO = Path(__file__).resolve().parents[2]


def test_the_local_extra_asks_for_exactly_the_supported_moto() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    local = project["optional-dependencies"]["local"]
    assert [r for r in local if r.replace(" ", "").startswith("moto")] == [REQUIREMENT]


def test_the_lock_installs_a_supported_moto() -> None:
    lock = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))
    versions = [package["version"] for package in lock["package"] if package["name"] == "moto"]
    assert len(versions) == 1
    assert satisfies(versions[0]), f"uv.lock has moto {versions[0]}, moto_support.SUPPORTED is {SUPPORTED}"


@pytest.mark.parametrize(("version", "specifier", "expected"), [
    ("5.2.6", "==5.2.6", True),
    ("5.2.5", "==5.2.6", False),
    ("5.2.7", "==5.2.6", False),
    ("5.2.6.0", "==5.2.6", True),  # PEP 440: trailing zeros do not count
    ("5.2.6", ">=5.2.6,<5.3", True),
    ("5.2.10", ">=5.2.6,<5.3", True),  # numeric, not string, order
    ("5.3.0", ">=5.2.6,<5.3", False),
    ("5.2.6", ">=5.2.6,!=5.2.6", False),
    ("5.3.0.dev1", ">=5.2.6", False),  # never tested: pre-, dev- and local versions are outside every range
    ("5.2.6rc1", ">=5.2.0", False),
    ("5.2.6+local", "==5.2.6", False),
])
def test_satisfies(version: str, specifier: str, expected: bool) -> None:
    assert satisfies(version, specifier) is expected


def test_a_specifier_we_cannot_read_is_an_error_not_a_pass() -> None:
    with pytest.raises(ValueError, match=r"~=5\.2"):
        satisfies("5.2.6", "~=5.2")
