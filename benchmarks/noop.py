"""Target 1: API calls of a no-op plan and a no-op apply on the example pipeline (exact counts).

Counted twice: client-side by `AwsContext.counter` (boto3 operations) and server-side by the endpoint's
request counter (HTTP requests, bytes in request bodies). The 2,000-row committed sample is the data.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import Endpoint, dummy_credentials, make_project

MUTATING_PREFIXES = ("Get", "List", "Head", "Batch")  # Glue BatchGet*; no Batch* writes are used


def is_mutating(op: str) -> bool:
    name = op.split(":", 1)[1]
    return not name.startswith(MUTATING_PREFIXES) or name.startswith("BatchDelete")


def measure(ep: Endpoint) -> dict[str, Any]:
    from click.testing import CliRunner

    import reconciler.cli.app as cli_app
    import reconciler.cli.main as cli_module
    from reconciler.aws.context import AwsContext
    from reconciler.engine.locked import ApplyOptions, locked_apply
    from reconciler.engine.plan import build_plan
    from reconciler.spec.load import load_spec

    dummy_credentials()
    with tempfile.TemporaryDirectory() as tmp:
        spec = make_project(Path(tmp) / "project")
        pipeline = load_spec(spec)
        ctx = AwsContext(region=pipeline.region, endpoint_url=ep.url)
        locked_apply(pipeline, ctx, build_plan(pipeline, ctx), ApplyOptions(auto_approve=True))

        ctx = AwsContext(region=pipeline.region, endpoint_url=ep.url)
        _ = ctx.account_id  # identity is looked up once per process; counted separately below
        ctx.counter.calls.clear()
        ep.counter.reset()
        plan = build_plan(pipeline, ctx)
        assert not plan.has_changes, "the example pipeline should be clean right after apply"
        plan_calls = Counter(ctx.counter.calls)
        plan_server, plan_bytes = ep.counter.snapshot()

        contexts: list[AwsContext] = []

        class CountingContext(AwsContext):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                contexts.append(self)

        original = cli_app.context_factory
        cli_app.context_factory = CountingContext
        ep.counter.reset()
        try:
            outcome = CliRunner().invoke(cli_module.cli, ["-f", str(spec), "--endpoint-url", ep.url, "apply",
                                                          "--auto-approve"])  # fmt: skip
        finally:
            cli_app.context_factory = original
        assert outcome.exit_code == 0 and "No changes" in outcome.output, outcome.output
        apply_calls = Counter(contexts[0].counter.calls)
        apply_server, apply_bytes = ep.counter.snapshot()

    declared: Counter[str] = Counter(c.address.split(".", 1)[0] for c in plan.changes)
    uploads = declared.get("upload", 0)
    resources = sum(declared.values())
    # reads: one per declared non-upload resource (some kinds read several facets: counted below),
    # uploads: one listing + one index GET each
    return {
        "declared": dict(declared),
        "resources": resources,
        "uploads": uploads,
        "plan_calls": dict(plan_calls),
        "plan_server": dict(plan_server),
        "plan_bytes": plan_bytes,
        "apply_calls": dict(apply_calls),
        "apply_server": dict(apply_server),
        "apply_bytes": apply_bytes,
        "plan_mutating": {k: v for k, v in plan_calls.items() if is_mutating(k)},
        "apply_mutating": {k: v for k, v in apply_calls.items() if is_mutating(k)},
    }


def render(r: dict[str, Any]) -> str:
    plan_total = sum(r["plan_calls"].values())
    apply_total = sum(r["apply_calls"].values())
    ops = sorted(set(r["plan_calls"]) | set(r["apply_calls"]))
    lines = [
        "## 1. No-op cost (example pipeline, committed 2,000-row sample)",
        "",
        f"Declared resources: {r['resources']} ({', '.join(f'{k} {v}' for k, v in sorted(r['declared'].items()))}).",
        "",
        "| operation | no-op plan | no-op apply (`reconcile apply --auto-approve`) |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{op}` | {r['plan_calls'].get(op, 0)} | {r['apply_calls'].get(op, 0)} |" for op in ops]
    lines += [
        f"| **total boto3 calls** | **{plan_total}** | **{apply_total}** |",
        f"| HTTP requests seen by the endpoint | {sum(r['plan_server'].values())} | "
        f"{sum(r['apply_server'].values())} |",
        f"| mutating calls | {sum(r['plan_mutating'].values())} | {sum(r['apply_mutating'].values())} |",
        f"| request body bytes sent to S3 | {r['plan_bytes']} | {r['apply_bytes']} |",
        "",
    ]
    calls = r["plan_calls"]

    def n(*ops: str) -> int:
        return sum(calls.get(op, 0) for op in ops)

    parts = [
        ("the bucket: HeadBucket + one GET per setting (versioning, encryption, public access block, ownership, "
         "policy, tags, lifecycle)", n(*(k for k in calls if k.startswith("s3:")))
         - n("s3:ListObjectsV2", "s3:GetObject", "s3:ListBuckets")),
        ("the role: GetRole (tags included) + GetRolePolicy", n("iam:GetRole", "iam:GetRolePolicy")),
        ("the database and the workflow: one Get each", n("glue:GetDatabase", "glue:GetWorkflow")),
        ("crawlers, jobs, triggers: per kind one BatchGet* (per 100 names) and one List* filtered by our one "
         "ownership tag (which declared names are ours; also finds removed ones)",
         n(*(k for k in calls if k.startswith("glue:BatchGet")), "glue:ListCrawlers", "glue:ListJobs",
           "glue:ListTriggers")),
        ("Glue tags: one GetTags per Glue resource, the truth for ownership and tag drift (a "
         "listing filtered by several tags is an AND or an OR, AWS documents neither)", n("glue:GetTags")),
        ("uploads: one listing per prefix (+ one index GET on a machine that has not seen the objects)",
         n("s3:ListObjectsV2", "s3:GetObject")),
        ("removed from the spec: one Resource Groups Tagging API GetResources filtered by our ownership tag "
         "(buckets, databases, workflows: no rights on, and no calls per, foreign resources) "
         "and one ListRoles",
         n("s3:ListBuckets", "iam:ListRoles", "glue:GetDatabases", "glue:ListWorkflows",
           "resourcegroupstaggingapi:GetResources")),
    ]  # fmt: skip
    assert sum(c for _, c in parts) == plan_total, (parts, plan_total)
    others = r["resources"] - r["uploads"]
    bound = r["resources"] + r["uploads"]
    lines += ["Where a no-op plan's calls go (measured):", "", "| part | calls |", "|---|---:|"]
    lines += [f"| {what} | {count} |" for what, count in parts]
    lines += [
        f"| **total** | **{plan_total}** |",
        "",
        "`reconcile apply --auto-approve` adds one GetCallerIdentity (the account id for ARNs) and one listing of "
        "the lock serial (read before the plan, so that a plan with changes need not be made twice under the lock), "
        "and stops there: no lock, no write.",
        "",
        f"- Against the read bound (one read per declared resource + one listing per upload prefix = "
        f"{r['resources']} + {r['uploads']} = {bound}): **not met as worded**: {plan_total} calls for {others} "
        f"other resources and {r['uploads']} uploads (37 before this round's changes). Uploads meet it (one "
        "listing, never a HEAD per object; a machine that has not "
        "seen the objects before also GETs the upload's index once). Crawlers, jobs and triggers beat it at scale "
        "(a constant few calls per kind: section 4). What AWS's API does not allow: an S3 bucket's six settings are "
        "six separate GETs; Glue's GetDatabase/GetWorkflow and their listings cannot return or filter by tags; an "
        "inline role policy is its own GetRolePolicy; and without a state file, resources removed from the spec are "
        "found only by listing each kind. Mutating calls and bytes on a no-op apply: **0 and 0** (met).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    with_ep = Endpoint()
    try:
        print(render(measure(with_ep)))
    finally:
        with_ep.stop()
