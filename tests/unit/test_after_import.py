"""After `import --local --out elsewhere/pipeline.yaml`, the next command reaches the endpoint that was read."""

from __future__ import annotations

from pathlib import Path

from reconciler.cli.app import Globals
from reconciler.cli.commands.setup import after_import
from reconciler.cli.render import make_console
from reconciler.invocation import set_global_args


def globals_for(spec: Path, *, local: bool) -> Globals:
    return Globals(spec, None, local, None, None, make_console(True), make_console(True, stderr=True))


def test_a_spec_written_elsewhere_names_this_endpoint_not_local(tmp_path: Path) -> None:
    here, there = tmp_path / "pipeline.yaml", tmp_path / "imported" / "pipeline.yaml"
    line = after_import(globals_for(here, local=True), there, "http://127.0.0.1:4566")
    assert line.endswith(f"-f {there} --endpoint-url http://127.0.0.1:4566 plan --adopt all"), line
    assert "--local" not in line


def test_the_same_directory_keeps_local(tmp_path: Path) -> None:
    here = tmp_path / "pipeline.yaml"
    g = globals_for(here, local=True)
    set_global_args(g.global_args())  # as the CLI does once it has parsed them
    try:
        line = after_import(g, tmp_path / "other.yaml", "http://127.0.0.1:4566")
    finally:
        set_global_args(())
    assert "--local" in line and "--endpoint-url" not in line and line.endswith("plan --adopt all"), line
