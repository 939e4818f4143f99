"""A throw-away project directory (spec, data, script, template) and a CLI runner against the endpoint."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli.main import cli
from reconciler_local.lifecycle import call_admin

REPO = Path(__file__).resolve().parents[2]
BUCKET = "car-brands-test"
JOB = "car-brands-prepare"
#: when the quarterly cron line fires for 2026-Q3 (docs/publishing.md: 06:00 UTC on the first day of the next quarter)
CRON_TIME = "2026-10-01T06:00:00Z"


@dataclass
class Project:
    root: Path
    endpoint: str

    @property
    def spec(self) -> Path:
        return self.root / "pipeline.yaml"

    def edit(self, old: str, new: str, count: int = 1) -> None:
        text = self.spec.read_text()
        assert old in text, f"{old!r} not in spec"
        self.spec.write_text(text.replace(old, new, count))

    def cli(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(
            cli, ["-f", str(self.spec), "--endpoint-url", self.endpoint, "--no-color", *args], input=input,
            catch_exceptions=False,
        )  # fmt: skip

    def plan_json(self, *args: str) -> dict[str, Any]:
        result = self.cli("plan", "--json", *args)
        assert result.exit_code == 0, result.output
        doc: dict[str, Any] = json.loads(result.stdout)
        return doc

    def changes(self, *args: str) -> dict[str, dict[str, Any]]:
        """address -> change, without no-ops."""
        return {c["address"]: c for c in self.plan_json(*args)["changes"] if c["action"] != "no-op"}


def make_project(root: Path, endpoint: str) -> Project:
    (root / "Data" / "car_brands" / "ingest_quarter=2026-Q3").mkdir(parents=True)
    sample = REPO / "Data" / "sample" / "car_brands"
    if sample.is_dir():
        shutil.rmtree(root / "Data" / "car_brands")
        shutil.copytree(sample, root / "Data" / "car_brands")
    else:  # the committed sample is the normal case; this keeps the core tests independent of it
        (root / "Data" / "car_brands" / "ingest_quarter=2026-Q3" / "part-00000.csv").write_text(
            "BMW,2026-07-01,08:15:00\nVW,2026-07-02,09:00:00\n"
        )
    (root / "glue_scripts").mkdir()
    script = REPO / "glue_scripts" / "car_brands_job.py"
    if script.exists():
        shutil.copy(script, root / "glue_scripts" / script.name)
    else:
        (root / "glue_scripts" / script.name).write_text("print('job')\n")
    (root / "quicksight").mkdir()
    template = REPO / "quicksight" / "manifest.template.json"
    if template.exists():
        shutil.copy(template, root / "quicksight" / "manifest.template.json")
    else:
        (root / "quicksight" / "manifest.template.json").write_text("{}\n")
    spec = (REPO / "pipeline.yaml").read_text()
    (root / "pipeline.yaml").write_text(spec)
    return Project(root, endpoint)


@pytest.fixture
def project(tmp_path: Path, aws: Any, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("PIPELINE_BUCKET", BUCKET)
    monkeypatch.delenv("DATA_DIR", raising=False)
    monkeypatch.setenv("AWS_REGION", aws.region)
    # The due quarter of a `run` without --quarter comes from the endpoint's schedule clock: 06:00 UTC on
    # 1 October 2026 (the documented cron time) makes it 2026-Q3, the sample's quarter, whatever today is.
    call_admin(aws.url, "clock", {"now": CRON_TIME})
    return make_project(tmp_path / "project", aws.url)
