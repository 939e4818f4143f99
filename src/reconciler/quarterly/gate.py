"""The quality gate of one run, for `run` and `promote` alike: compare its report with the published run
of the same quarter (a restatement) or of the quarter before, and write the verdict beside the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.quarterly import publish
from reconciler.spec.model import Pipeline


@dataclass(frozen=True)
class Verdict:
    """The verdict as written (publish.GATE), and the published (quarter, run id) it compared against."""

    document: dict[str, Any]
    compared: tuple[str, str] | None

    @property
    def failures(self) -> list[str]:
        return list(self.document["failures"])


def judge(
    ctx: AwsContext, pipeline: Pipeline, layout: publish.Layout, run_id: str, report: dict[str, Any], quarter: str,
    *, on_compared: Callable[[tuple[str, str] | None], None] | None = None,
    before_write: Callable[[], None] | None = None,
) -> Verdict:  # fmt: skip
    """Check `report` against the gate's rules and write the verdict. `on_compared` hears which published run
    it is compared with; `before_write` runs just before the write (the run checks its lock there)."""
    compared = publish.comparison_run(publish.published_quarters(ctx, layout), quarter)
    if on_compared is not None:
        on_compared(compared)
    previous = publish.read_report(ctx, layout, compared[1]) if compared else None
    failures = publish.check_gate(pipeline, report, previous, quarter)
    if before_write is not None:
        before_write()
    document = publish.write_gate(ctx, layout, run_id, failures, compared[1] if compared else None)
    return Verdict(document, compared)
