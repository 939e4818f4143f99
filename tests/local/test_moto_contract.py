"""Every private moto name the endpoint's grafts rely on (reconciler_local.moto_api.CONTRACT) exists in the
installed moto with the shape the grafts expect. After a moto upgrade this is the test that fails, naming what
moved; and the checker itself is tested on a stand-in module, so a passing contract means something."""

from __future__ import annotations

import ast
import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler_local import patching
from reconciler_local.moto_api import CONTRACT, Expect, check, contract_summary

README = Path(__file__).resolve().parents[2] / "src" / "reconciler_local" / "README.md"


@pytest.mark.parametrize("expect", CONTRACT, ids=[f"{e.kind}:{e.path}" for e in CONTRACT])
def test_installed_moto_has_what_the_grafts_use(expect: Expect) -> None:
    problem = check(expect)
    assert problem is None, f"{problem} (moto_api.CONTRACT; src/reconciler_local/README.md: upgrading moto)"


def test_the_contract_has_no_duplicates_and_covers_every_kind() -> None:
    paths = [(e.path, e.kind) for e in CONTRACT]
    assert len(paths) == len(set(paths))
    assert {e.kind for e in CONTRACT} == {"module", "class", "callable", "attribute", "value"}


def test_only_moto_api_imports_moto() -> None:
    """The contract covers what the endpoint uses only if every use goes through moto_api."""
    package = README.parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "moto_api.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{path.relative_to(package)}:{node.lineno} {name}" for name in names
                          if name == "moto" or name.startswith("moto.")]
    assert offenders == []


def test_the_endpoint_readme_lists_the_contract() -> None:
    assert contract_summary() in README.read_text(encoding="utf-8"), (
        "src/reconciler_local/README.md's list is out of date: paste moto_api.contract_summary() in its place"
    )


def test_the_checker_names_the_attribute_moto_5_2_6_removed() -> None:
    """The grafts read `GlueResponse.parameters` until moto 5.2.6 removed it (every grafted Glue operation then
    answered HTTP 500): as a contract entry it fails, naming it."""
    assert check(Expect("moto.glue.responses.GlueResponse.parameters", "attribute")) == (
        "moto.glue.responses.GlueResponse.parameters: missing"
    )


STAND_IN = '''
class Base:
    def __init__(self, body):
        self.body = body

    def dispatch(self, action):
        return getattr(self, action)()


class Response(Base):
    region = "eu-central-1"

    def create_job(self, name, role, *, tags=None):
        return self._lookup(name)

    def removed_upstream(self):
        return None

    def _lookup(self, name):
        return name
'''


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An importable module standing in for a moto module (a fresh name per test: no import cache shared)."""
    name = f"stand_in_moto_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(STAND_IN), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_the_checker_accepts_what_is_there(stand_in: str) -> None:
    for expect in (
        Expect(stand_in, "module"),
        Expect(f"{stand_in}.Response", "class"),
        Expect(f"{stand_in}.Response.body", "attribute"),  # an instance attribute, assigned in a base's __init__
        Expect(f"{stand_in}.Response.region", "attribute"),
        Expect(f"{stand_in}.Response.create_job", "callable", ("name", "role"), ("tags",)),
        Expect(f"{stand_in}.Base.dispatch", "callable", mentions=("getattr(self, action)",)),
    ):
        assert check(expect) is None, expect


def test_the_checker_names_each_kind_of_move(stand_in: str) -> None:
    cases = {
        Expect(f"{stand_in}.Response.parameters", "attribute"): f"{stand_in}.Response.parameters: missing",
        Expect(f"{stand_in}.Missing", "class"): f"{stand_in}.Missing: missing",
        Expect(f"{stand_in}.Response.region", "class"): f"{stand_in}.Response.region: not a class",
        Expect(f"{stand_in}.Response.region", "callable"): f"{stand_in}.Response.region: not callable",
        Expect(f"{stand_in}.Response.create_job", "callable", ("role", "name")):
            f"{stand_in}.Response.create_job: parameters (role, name) expected first, moto has (name, role, tags)",
        Expect(f"{stand_in}.Response.create_job", "callable", accepts=("timeout",)):
            f"{stand_in}.Response.create_job: takes no parameter timeout (moto has (name, role, tags))",
        Expect(f"{stand_in}.Base.dispatch", "callable", mentions=("_determine_resource",)):
            f"{stand_in}.Base.dispatch: no longer calls _determine_resource",
        Expect(f"{stand_in}.gone", "module"): f"{stand_in}.gone: module missing",
        Expect("no_such_package.x", "module"): "no_such_package.x: module no_such_package not found",
    }
    for expect, message in cases.items():
        assert check(expect) == message


def test_the_checker_sees_moto_s_method_under_a_graft(stand_in: str) -> None:
    """A graft replaces a method or adds one under a name moto no longer has: the contract is about moto's own,
    so the graft's function must neither hide a change in moto's signature nor stand in for a method moto removed."""
    response: type = importlib.import_module(stand_in).Response

    def create_job(self: object, *args: object, **kwargs: object) -> None:
        return None

    def parameters(self: object) -> None:  # moto removed it; the graft would add it back silently
        return None

    patching.graft(response, type("Additions", (response,), {"create_job": create_job, "parameters": parameters}))
    assert check(Expect(f"{stand_in}.Response.create_job", "callable", ("name", "role"))) is None
    assert check(Expect(f"{stand_in}.Response.create_job", "callable", ("role",))) is not None
    assert check(Expect(f"{stand_in}.Response.parameters", "callable")) == f"{stand_in}.Response.parameters: missing"
