"""What a plan reads: Glue kinds are read in bulk (the same calls for 1 or 40 crawlers and jobs),
identical reads are shared within a plan, and none of that hides drift, foreign resources or deletes."""

from __future__ import annotations

import threading
from typing import Any

import yaml

from reconciler.aws.context import AwsContext
from reconciler.engine.plan import build_plan
from reconciler.errors import NotFoundError
from reconciler.spec.load import load_spec
from reconciler.spec.model import MANAGED_TAG, OWNER_TAG

from .conftest import BUCKET, Project

ARN = "arn:aws:glue:eu-central-1:123456789012"


def add_crawlers_and_jobs(project: Project, n: int) -> None:
    doc = yaml.safe_load(project.spec.read_text())
    crawler, job = doc["spec"]["crawlers"][0], doc["spec"]["jobs"][0]
    for i in range(n):
        doc["spec"]["crawlers"].append(crawler | {"name": f"extra-crawler-{i:02d}", "table_prefix": f"x{i}_"})
        doc["spec"]["jobs"].append(job | {"name": f"extra-job-{i:02d}"})
    project.spec.write_text(yaml.safe_dump(doc, sort_keys=False))


def glue_reads(project: Project, aws: Any) -> dict[str, int]:
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    plan = build_plan(load_spec(project.spec), ctx)
    assert not plan.has_changes, [c.address for c in plan.changes if c.action != "no-op"]
    return {op.split(":", 1)[1]: n for op, n in ctx.counter.calls.items() if op.startswith("glue:")}


def test_forty_more_crawlers_and_jobs_cost_no_more_glue_reads(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    one_each = glue_reads(project, aws)
    add_crawlers_and_jobs(project, 40)
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    many = glue_reads(project, aws)
    # Ownership is confirmed by each resource's own GetTags (never by the List* tag
    # filter alone), so GetTags grows with *our* resources, one each; every other read stays the same.
    assert {op: n for op, n in many.items() if op != "GetTags"} == {
        op: n for op, n in one_each.items() if op != "GetTags"
    }
    assert many["BatchGetCrawlers"] == 1 and many["BatchGetJobs"] == 1
    assert "GetCrawler" not in many and "GetJob" not in many
    assert many["GetTags"] == one_each["GetTags"] + 80  # 40 more crawlers and 40 more jobs, one read each


def test_tag_drift_on_one_of_many_jobs_is_found_and_read_alone(project: Project, aws: Any) -> None:
    add_crawlers_and_jobs(project, 5)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    baseline = glue_reads(project, aws).get("GetTags", 0)
    glue = aws.client("glue")
    glue.tag_resource(ResourceArn=f"{ARN}:job/extra-job-03", TagsToAdd={"project": "someone-else"})
    glue.tag_resource(ResourceArn=f"{ARN}:crawler/extra-crawler-01", TagsToAdd={"cost-center": "theirs"})

    changes = project.changes()
    assert set(changes) == {"job.extra-job-03"}  # a tag someone else added (cost-center) is not drift
    assert [a["path"] for a in changes["job.extra-job-03"]["attributes"]] == ['tags.project']
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    build_plan(load_spec(project.spec), ctx)
    assert ctx.counter.calls["glue:GetTags"] == baseline  # each resource's tags read once, drifted or not

    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert glue.get_tags(ResourceArn=f"{ARN}:job/extra-job-03")["Tags"]["project"] == "car-brands"
    assert glue.get_tags(ResourceArn=f"{ARN}:crawler/extra-crawler-01")["Tags"]["cost-center"] == "theirs"
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_an_undeclared_crawler_with_drifted_tags_is_still_ours_to_delete(project: Project, aws: Any) -> None:
    add_crawlers_and_jobs(project, 1)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    aws.client("glue").tag_resource(ResourceArn=f"{ARN}:crawler/extra-crawler-00", TagsToAdd={"project": "x"})
    doc = yaml.safe_load(project.spec.read_text())
    doc["spec"]["crawlers"] = [c for c in doc["spec"]["crawlers"] if c["name"] != "extra-crawler-00"]
    project.spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert project.changes()["crawler.extra-crawler-00"]["action"] == "delete"


def test_a_foreign_job_among_ours_is_a_conflict_not_ours(project: Project, aws: Any) -> None:
    add_crawlers_and_jobs(project, 2)
    glue = aws.client("glue")
    role = "arn:aws:iam::123456789012:role/theirs"
    glue.create_job(Name="extra-job-01", Role=role, Command={"Name": "glueetl", "ScriptLocation": "s3://x/y.py"},
                    Tags={OWNER_TAG: "another-pipeline", MANAGED_TAG: "true", "project": "car-brands"})  # fmt: skip
    changes = project.changes()
    assert changes["job.extra-job-01"]["action"] == "conflict"
    assert "another-pipeline" in changes["job.extra-job-01"]["reason"]
    assert changes["job.extra-job-00"]["action"] == "create"


def test_identical_reads_within_a_plan_are_sent_once(project: Project, aws: Any) -> None:
    aws.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region})
    aws.client("s3").put_object(Bucket=BUCKET, Key="k", Body=b"body")
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    answers: list[Any] = []
    with ctx.shared_reads():

        def read() -> None:
            try:
                answers.append(ctx.call("s3", "get_bucket_tagging", Bucket=BUCKET))
            except NotFoundError as exc:
                answers.append(exc.code)

        threads = [threading.Thread(target=read) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bodies = [ctx.call("s3", "get_object", Bucket=BUCKET, Key="k")["Body"].read() for _ in range(2)]
    ctx.call("s3", "head_bucket", Bucket=BUCKET)
    ctx.call("s3", "head_bucket", Bucket=BUCKET)
    assert answers == ["NoSuchTagSet"] * 6  # a not-found answer is shared like any other
    assert bodies == [b"body", b"body"]  # a streamed body is never shared
    assert ctx.counter.calls["s3:GetBucketTagging"] == 1
    assert ctx.counter.calls["s3:GetObject"] == 2
    assert ctx.counter.calls["s3:HeadBucket"] == 2  # outside the block nothing is shared
