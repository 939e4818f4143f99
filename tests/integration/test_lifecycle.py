"""Acceptance tests in the style of terraform-provider-aws: apply, plan clean, update, drift,
disappear, destroy, gone. Live state is checked with plain boto3, never through our own readers."""

from __future__ import annotations

import json
from typing import Any

from reconciler.spec.model import MANAGED_TAG, OWNER_TAG
from tests.helpers import glue_role

from .conftest import BUCKET, Project

PIPELINE = "car-brands"
ALL_ADDRESSES = {
    f"bucket.{BUCKET}",
    "upload.raw/car_brands/",
    "upload.scripts/car_brands_job.py",
    "role.car-brands-glue",
    "database.car_brands",
    "crawler.car-brands-raw",
    "job.car-brands-prepare",
    "workflow.car-brands-quarterly",
    "trigger.car-brands-quarterly-start",
    "trigger.car-brands-quarterly-after-crawl",
}


def owned_everywhere(aws: Any) -> dict[str, list[str]]:
    """Everything on the endpoint tagged as this pipeline's, found with plain boto3."""
    glue, s3, iam = aws.client("glue"), aws.client("s3"), aws.client("iam")
    tags = {OWNER_TAG: PIPELINE}
    buckets = []
    for b in s3.list_buckets()["Buckets"]:
        try:
            tag_set = s3.get_bucket_tagging(Bucket=b["Name"])["TagSet"]
        except s3.exceptions.ClientError:
            continue
        if {"Key": OWNER_TAG, "Value": PIPELINE} in tag_set:
            buckets.append(b["Name"])
    arn = "arn:aws:glue:eu-central-1:123456789012"
    databases = [
        d["Name"] for d in glue.get_databases()["DatabaseList"]
        if glue.get_tags(ResourceArn=f"{arn}:database/{d['Name']}")["Tags"].get(OWNER_TAG) == PIPELINE
    ]  # fmt: skip
    workflows = [
        w for w in glue.list_workflows()["Workflows"]
        if glue.get_tags(ResourceArn=f"{arn}:workflow/{w}")["Tags"].get(OWNER_TAG) == PIPELINE
    ]  # fmt: skip
    return {
        "buckets": buckets,
        "crawlers": glue.list_crawlers(Tags=tags)["CrawlerNames"],
        "jobs": glue.list_jobs(Tags=tags)["JobNames"],
        "triggers": glue.list_triggers(Tags=tags)["TriggerNames"],
        "databases": databases,
        "workflows": workflows,
        "roles": [r["RoleName"] for r in iam.list_roles(PathPrefix=f"/reconciler/{PIPELINE}/")["Roles"]],
    }


def test_full_lifecycle(project: Project, aws: Any) -> None:
    # The in-AWS schedule, so that the start trigger has a cron to change (by default it is ON_DEMAND:
    # tests/integration/test_quarters.py).
    project.edit("    in_aws: false\n", "    in_aws: true\n")
    assert project.cli("validate").exit_code == 0

    first = project.changes()
    assert set(first) == ALL_ADDRESSES
    assert {c["action"] for c in first.values()} == {"create"}
    assert project.cli("plan", "--detailed-exitcode").exit_code == 2

    applied = project.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete" in applied.output

    # Right after apply, plan is clean: no perpetual diffs for any kind or field.
    clean = project.cli("plan", "--detailed-exitcode")
    assert clean.exit_code == 0, clean.output
    assert "No changes" in clean.output

    # Live state, checked with plain boto3.
    glue, s3, iam = aws.client("glue"), aws.client("s3"), aws.client("iam")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    head = s3.head_object(Bucket=BUCKET, Key="scripts/car_brands_job.py")
    assert len(head["Metadata"]["sha256"]) == 64
    crawler = glue.get_crawler(Name="car-brands-raw")["Crawler"]
    assert crawler["Targets"]["S3Targets"][0]["Path"] == f"s3://{BUCKET}/raw/car_brands/"
    assert crawler["TablePrefix"] == "raw_"
    job = glue.get_job(JobName="car-brands-prepare")["Job"]
    assert job["NumberOfWorkers"] == 2
    assert job["Command"]["ScriptLocation"] == f"s3://{BUCKET}/scripts/car_brands_job.py"
    after_crawl = glue.get_trigger(Name="car-brands-quarterly-after-crawl")["Trigger"]
    assert after_crawl["Type"] == "CONDITIONAL"
    assert after_crawl["Predicate"]["Conditions"][0]["CrawlState"] == "SUCCEEDED"
    assert glue.get_trigger(Name="car-brands-quarterly-start")["Trigger"]["Schedule"] == "cron(0 0 1 */3 ? *)"
    role = iam.get_role(RoleName="car-brands-glue")["Role"]
    assert {"Key": MANAGED_TAG, "Value": "true"} in role["Tags"]

    # Change one field of each kind; plan shows exactly those changes.
    project.edit("versioning: true", "versioning: false")
    project.edit("description: Raw and prepared", "description: Changed")
    project.edit("table_prefix: raw_", "table_prefix: src_")
    project.edit("number_of_workers: 2", "number_of_workers: 3")
    project.edit("cron(0 0 1 */3 ? *)", "cron(30 2 1 */3 ? *)")
    project.edit("/prepared/", "/prepared_v2/")  # job argument and, through it, the role's write scope
    script = project.root / "glue_scripts" / "car_brands_job.py"
    script.write_text(script.read_text() + "\n# changed\n")
    project.edit(
        "  jobs:",
        "    - name: car-brands-extra\n      targets:\n        - s3://${PIPELINE_BUCKET}/raw/car_brands/\n  jobs:",
    )
    changes = project.changes()
    paths = {addr: {a["path"] for a in c["attributes"]} for addr, c in changes.items()}
    assert paths == {
        f"bucket.{BUCKET}": {"versioning", "lifecycle"},  # lifecycle: the pointer moves with --output_path
        "database.car_brands": {"description"},
        "crawler.car-brands-raw": {"table_prefix"},
        "job.car-brands-prepare": {"number_of_workers", "default_arguments.--output_path"},
        "trigger.car-brands-quarterly-start": {"schedule", "description"},
        "role.car-brands-glue": {"access_policy.Statement"},
        "upload.scripts/car_brands_job.py": {"objects[\"scripts/car_brands_job.py\"].sha256",
                                             "objects[\"scripts/car_brands_job.py\"].size"},
        # a create lists everything it sets, its tags too
        "crawler.car-brands-extra": {"role", "database", "description", "targets", "table_prefix", "schedule",
                                     "schema_change_policy", "recrawl_policy", "security_configuration",
                                     "tags.project", "tags.owner",
                                     "tags.reconciler:pipeline", "tags.reconciler:managed", "tags.reconciler:keys"},
    }  # fmt: skip
    assert changes["crawler.car-brands-extra"]["action"] == "create"
    assert {c["action"] for a, c in changes.items() if a != "crawler.car-brands-extra"} == {"update"}

    # The new output prefix widens the role's write access: that needs its own approval.
    refused = project.cli("apply", "--auto-approve")
    assert refused.exit_code == 1
    assert "widens access" in refused.output and "prepared_v2/runs/*" in refused.output
    assert glue.get_job(JobName="car-brands-prepare")["Job"]["NumberOfWorkers"] == 2  # nothing applied
    assert project.cli("apply", "--auto-approve", "--approve-broadening").exit_code == 0
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
    assert glue.get_job(JobName="car-brands-prepare")["Job"]["NumberOfWorkers"] == 3
    assert glue.get_trigger(Name="car-brands-quarterly-start")["Trigger"]["Schedule"] == "cron(30 2 1 */3 ? *)"
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Suspended"
    policy = iam.get_role_policy(RoleName="car-brands-glue", PolicyName="pipeline-access")["PolicyDocument"]
    policy_text = policy if isinstance(policy, str) else json.dumps(policy)
    assert "prepared_v2/runs/*" in policy_text

    # Remove the extra crawler from the spec: it is tagged as ours, so it is planned as a delete.
    project.edit(
        "    - name: car-brands-extra\n      targets:\n        - s3://${PIPELINE_BUCKET}/raw/car_brands/\n", ""
    )
    changes = project.changes()
    assert {a: c["action"] for a, c in changes.items()} == {"crawler.car-brands-extra": "delete"}
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert "car-brands-extra" not in glue.list_crawlers()["CrawlerNames"]

    # Destroy --force leaves nothing of ours (without --force the bucket and its data stay: see
    # test_data_safety.py, test_destroy_keeps_a_bucket_with_data_and_says_how_much).
    gone = project.cli("destroy", "--auto-approve", "--force")
    assert gone.exit_code == 0, gone.output
    assert not any(owned_everywhere(aws).values()), owned_everywhere(aws)


def test_drift_behind_our_back_is_planned_and_restored(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    glue = aws.client("glue")
    glue.update_crawler(Name="car-brands-raw", Schedule="cron(0 12 * * ? *)")
    job = glue.get_job(JobName="car-brands-prepare")["Job"]
    glue.update_job(
        JobName="car-brands-prepare",
        JobUpdate={"Role": job["Role"], "Command": job["Command"], "GlueVersion": "5.0",
                   "WorkerType": "G.1X", "NumberOfWorkers": 7, "DefaultArguments": job["DefaultArguments"],
                   "Timeout": 60},
    )  # fmt: skip

    changes = project.changes()
    assert {a: {x["path"] for x in c["attributes"]} for a, c in changes.items()} == {
        "crawler.car-brands-raw": {"schedule"},
        "job.car-brands-prepare": {"number_of_workers"},
    }
    drift = project.cli("plan")
    assert "number_of_workers: 7 -> 2" in drift.output
    assert 'schedule: "cron(0 12 * * ? *)" -> (none)' in drift.output

    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert glue.get_job(JobName="car-brands-prepare")["Job"]["NumberOfWorkers"] == 2
    assert "Schedule" not in glue.get_crawler(Name="car-brands-raw")["Crawler"] or not glue.get_crawler(
        Name="car-brands-raw"
    )["Crawler"]["Schedule"].get("ScheduleExpression")
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_resources_that_disappear_are_recreated(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    glue = aws.client("glue")
    glue.delete_trigger(Name="car-brands-quarterly-after-crawl")
    glue.delete_job(JobName="car-brands-prepare")
    assert set(project.changes()) == {"trigger.car-brands-quarterly-after-crawl", "job.car-brands-prepare"}
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_unowned_resources_with_declared_names_are_left_untouched(project: Project, aws: Any) -> None:
    s3, glue = aws.client("s3"), aws.client("glue")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region})
    s3.put_object(Bucket=BUCKET, Key="theirs.txt", Body=b"not ours")
    glue.create_database(DatabaseInput={"Name": "someone_elses"})
    glue_role(aws.client("iam"), "their-role")
    glue.create_crawler(Name="car-brands-raw", Role="their-role", DatabaseName="someone_elses",
                        Targets={"S3Targets": [{"Path": "s3://elsewhere/"}]})  # fmt: skip

    changes = project.changes()
    assert changes[f"bucket.{BUCKET}"]["action"] == "conflict"
    assert changes["crawler.car-brands-raw"]["action"] == "conflict"
    refused = project.cli("apply", "--auto-approve")
    assert refused.exit_code == 1
    assert "not this pipeline's" in refused.output and "--adopt" in refused.output

    # Nothing was written anywhere: not to their resources, and nothing new of ours.
    assert glue.get_crawler(Name="car-brands-raw")["Crawler"]["Role"] == "their-role"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["theirs.txt"]
    try:
        tag_set = s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]
    except s3.exceptions.ClientError:
        tag_set = []
    assert tag_set == []
    assert glue.list_jobs()["JobNames"] == []
    assert [d["Name"] for d in glue.get_databases()["DatabaseList"]] == ["someone_elses"]

    # Destroy never touches them either.
    project.cli("destroy", "--auto-approve", "--force")
    assert glue.get_crawler(Name="car-brands-raw")["Crawler"]["Role"] == "their-role"
    assert s3.head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_adopt_takes_over_an_unowned_crawler(project: Project, aws: Any) -> None:
    glue, theirs = aws.client("glue"), glue_role(aws.client("iam"), "their-role")
    glue.create_crawler(Name="car-brands-raw", Role=theirs, DatabaseName="car_brands",
                        Targets={"S3Targets": [{"Path": f"s3://{BUCKET}/raw/car_brands/"}]})  # fmt: skip
    assert project.changes()["crawler.car-brands-raw"]["action"] == "conflict"
    result = project.cli("apply", "--auto-approve", "--adopt", "crawler.car-brands-raw")
    assert result.exit_code == 0, result.output
    arn = "arn:aws:glue:eu-central-1:123456789012:crawler/car-brands-raw"
    assert glue.get_tags(ResourceArn=arn)["Tags"][OWNER_TAG] == PIPELINE
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_saved_plan_is_refused_when_live_state_changed(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("number_of_workers: 2", "number_of_workers: 4")
    planfile = project.root / "plan.json"
    assert project.cli("plan", "--out", str(planfile)).exit_code == 0
    aws.client("glue").update_crawler(Name="car-brands-raw", TablePrefix="drifted_")
    stale = project.cli("apply", str(planfile))
    assert stale.exit_code == 3  # EXIT_LOCKED: a stale plan
    assert "changed since" in stale.output
    hint = " ".join(stale.output.split())
    assert "hint: make the plan again and review it: " in hint and f"plan --out {planfile}, then " in hint, hint
    assert aws.client("glue").get_job(JobName="car-brands-prepare")["Job"]["NumberOfWorkers"] == 2

    assert project.cli("plan", "--out", str(planfile)).exit_code == 0
    fresh = project.cli("apply", str(planfile))
    assert fresh.exit_code == 0, fresh.output
    assert aws.client("glue").get_job(JobName="car-brands-prepare")["Job"]["NumberOfWorkers"] == 4


def test_apply_refuses_without_a_terminal_or_auto_approve(project: Project, aws: Any) -> None:
    result = project.cli("apply")
    assert result.exit_code == 1
    assert "--auto-approve" in result.output
    assert aws.client("s3").list_buckets()["Buckets"] == []


def test_unchanged_uploads_cost_one_listing_and_at_most_one_index_read(project: Project, aws: Any) -> None:
    """No HEAD per object on a no-op plan: the machine that uploaded needs the listing alone, a fresh
    checkout one index GET more; an object rewritten behind our back is still noticed."""
    from reconciler.aws.context import AwsContext
    from reconciler.engine.plan import build_plan
    from reconciler.spec.load import load_spec

    assert project.cli("apply", "--auto-approve").exit_code == 0
    pipeline = load_spec(project.spec)
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    assert not build_plan(pipeline, ctx).has_changes
    assert ctx.counter.calls["s3:HeadObject"] == 0
    assert ctx.counter.calls["s3:GetObject"] == 0
    assert ctx.counter.calls["s3:ListObjectsV2"] == len(pipeline.uploads)

    (project.root / ".reconciler" / "remote-seen.json").unlink()  # as on a fresh clone of the project
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    assert not build_plan(pipeline, ctx).has_changes
    assert ctx.counter.calls["s3:HeadObject"] == 0
    assert ctx.counter.calls["s3:GetObject"] == len(pipeline.uploads)  # the index, once per upload
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    assert not build_plan(pipeline, ctx).has_changes
    assert ctx.counter.calls["s3:GetObject"] == 0  # and what the index said is now known locally

    key = "scripts/car_brands_job.py"
    aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"tampered", Metadata={"sha256": "0" * 64})
    changes = project.changes()
    assert set(changes) == {"upload.scripts/car_brands_job.py"}
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read() != b"tampered"


def test_the_plan_after_apply_is_clean_while_s3_still_answers_the_old_lifecycle(project: Project, aws: Any) -> None:
    """S3 propagates a lifecycle configuration with a lag (the endpoint's lifecycle_propagation_seconds): apply
    re-reads it until our rules show steadily (terraform-provider-aws bucket_lifecycle_configuration.go), so the
    plan right after it is clean."""
    from reconciler_local import call_admin

    call_admin(project.endpoint, "settings", {"lifecycle_propagation_seconds": 8})
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    after = project.cli("plan", "--detailed-exitcode")
    assert after.exit_code == 0, after.output
