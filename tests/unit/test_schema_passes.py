"""A spec that passed the JSON Schema is not checked against it again (no jsonschema import), while
anything that differs - the document, an interpolated value, a problem - is checked afresh."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import make_spec_project

from reconciler.spec.load import load_spec, validate_file

PROBE = """
import sys
from pathlib import Path
from reconciler.spec.load import load_spec
pipeline = load_spec(Path(sys.argv[1]), {"WORKERS": sys.argv[2]})
print(pipeline.jobs[0].number_of_workers, "jsonschema" in sys.modules)
"""


def probe(spec: Path, workers: str) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, str(spec), workers], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def with_interpolated_workers(tmp_path: Path) -> Path:
    spec = make_spec_project(tmp_path)
    text = spec.read_text()
    assert "number_of_workers: 2" in text
    spec.write_text(text.replace("number_of_workers: 2", "number_of_workers: ${WORKERS}"))
    return spec


def test_a_spec_that_passed_is_not_checked_against_the_schema_again(tmp_path: Path) -> None:
    spec = with_interpolated_workers(tmp_path)
    assert probe(spec, "3") == "3 True"  # checked, and ${WORKERS} coerced to a number
    assert probe(spec, "3") == "3 False"  # remembered: same document, same coercion, no jsonschema
    assert probe(spec, "5") == "5 True"  # another value is another document
    remembered = json.loads((tmp_path / ".reconciler" / "schema-passed.json").read_text())
    assert len(remembered) == 2


def test_problems_are_never_remembered(tmp_path: Path) -> None:
    spec = with_interpolated_workers(tmp_path)
    load_spec(spec, {"WORKERS": "3"})
    for _ in range(2):
        problems = validate_file(spec, {"WORKERS": "many"})
        assert [p.path for p in problems] == ["spec.jobs[0].number_of_workers"]
    spec.write_text(spec.read_text().replace("glue_version:", "glue_versoin:"))
    for _ in range(2):
        assert any("glue_versoin" in p.message for p in validate_file(spec, {"WORKERS": "3"}))
