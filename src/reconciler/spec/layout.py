"""Where a pipeline's runs and its published pointer live in its bucket, derived from the spec alone.

Under the published job's `--output_path` (the *base*, e.g. `s3://bucket/prepared/`): `runs/<run_id>/` for
each run, and the pointer of what is published (the names are stated once, in spec/reserved.py).
Pure: no AWS, no I/O. The publication code (quarterly/publish.py) and the bucket's lifecycle
(resources/bucket.py) both read it from here."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.errors import PublishError
from reconciler.spec import reserved
from reconciler.spec.model import Pipeline


@dataclass(frozen=True)
class Layout:
    bucket: str
    base_key: str  # e.g. "prepared/"

    @classmethod
    def of(cls, pipeline: Pipeline) -> Layout:
        job = pipeline.jobs[0] if pipeline.schedule is None else next(
            j for j in pipeline.jobs if j.name == pipeline.schedule.job
        )  # fmt: skip
        output = dict(job.arguments).get("--output_path", "")
        own = f"s3://{pipeline.bucket.name}/"
        if not output.startswith(own):
            raise PublishError(
                f"job {job.name!r} has no --output_path inside s3://{pipeline.bucket.name}/: nothing to publish",
                hint="set arguments.--output_path to a prefix of the pipeline's bucket",
            )
        base = output[len(own) :]
        return cls(pipeline.bucket.name, base if base.endswith("/") or not base else base + "/")

    def run_key(self, run_id: str, relative: str = "") -> str:
        return f"{reserved.runs_prefix(self.base_key)}{run_id}/{relative}"

    def run_uri(self, run_id: str) -> str:
        return f"s3://{self.bucket}/{self.run_key(run_id)}"

    @property
    def pointer_key(self) -> str:
        return reserved.pointer_key(self.base_key)
