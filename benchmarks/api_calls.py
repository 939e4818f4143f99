"""Count the AWS API calls of a no-op plan and a no-op apply on the example pipeline.

Runs against an in-process local endpoint (a real HTTP server on 127.0.0.1) with the committed
2,000-row sample as data. Prints calls per operation; exact counts, not timings.

    .venv/bin/python benchmarks/api_calls.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="eu-central-1")
    from click.testing import CliRunner

    import reconciler.cli.app as cli_app
    import reconciler.cli.main as cli_module
    from reconciler.aws.context import AwsContext
    from reconciler.engine.locked import ApplyOptions, locked_apply
    from reconciler.engine.plan import build_plan
    from reconciler.spec.load import load_spec
    from reconciler_local.server import LocalEndpoint

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "pipeline.yaml", root / "pipeline.yaml")
        shutil.copytree(REPO / "Data" / "sample" / "car_brands", root / "Data" / "car_brands")
        shutil.copytree(REPO / "glue_scripts", root / "glue_scripts")
        shutil.copytree(REPO / "quicksight", root / "quicksight")
        pipeline = load_spec(root / "pipeline.yaml")
        endpoint = LocalEndpoint.start()
        try:
            ctx = AwsContext(region=pipeline.region, endpoint_url=endpoint.url)
            first = build_plan(pipeline, ctx)
            locked_apply(pipeline, ctx, first, ApplyOptions(auto_approve=True))

            results: dict[str, Counter[str]] = {}
            ctx.counter.calls.clear()
            plan = build_plan(pipeline, ctx)
            assert not plan.has_changes, "the example pipeline should be clean right after apply"
            results["no-op plan"] = Counter(ctx.counter.calls)

            # `reconcile apply` itself: it stops after the plan when there is nothing to do.
            contexts: list[AwsContext] = []

            class CountingContext(AwsContext):
                def __init__(self, *args: Any, **kwargs: Any) -> None:
                    super().__init__(*args, **kwargs)
                    contexts.append(self)

            cli_app.context_factory = CountingContext
            spec = str(root / "pipeline.yaml")
            outcome = CliRunner().invoke(cli_module.cli, ["-f", spec, "--endpoint-url", endpoint.url, "apply",
                                                          "--auto-approve"])  # fmt: skip
            assert outcome.exit_code == 0 and "No changes" in outcome.output, outcome.output
            results["no-op apply (reconcile apply)"] = Counter(contexts[0].counter.calls)
            declared = len(plan.changes)
        finally:
            endpoint.stop()

    print(f"declared resources: {declared}")
    for name, calls in results.items():
        mutating = {op: n for op, n in calls.items() if not op.split(":")[1].startswith(("Get", "List", "Head"))}
        print(f"\n{name}: {sum(calls.values())} calls, mutating: {mutating or 'none'}")
        for op, n in sorted(calls.items()):
            print(f"  {op:<40} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
