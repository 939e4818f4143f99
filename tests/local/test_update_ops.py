"""UpdateCrawler, UpdateJob and UpdateTrigger over HTTP, with AWS's semantics (AWS Glue API reference)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler_local import call_admin
from tests.helpers import SUITE_GLUE_ROLE, SUITE_GLUE_ROLE_ARN

ROLE_ARN = SUITE_GLUE_ROLE_ARN

# Every crawler and job here gets a real role Glue may assume (the suite resolves roles as AWS does).
pytestmark = pytest.mark.usefixtures("glue_role_arn")


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def create_crawler(glue: Any, name: str = "raw", **extra: Any) -> None:
    glue.create_crawler(
        Name=name,
        Role=ROLE_ARN,
        DatabaseName="db",
        Description="first",
        Targets={"S3Targets": [{"Path": "s3://bucket/raw/"}]},
        Schedule="cron(0 0 1 */3 ? *)",
        TablePrefix="raw_",
        **extra,
    )


def test_update_crawler_changes_only_the_given_fields(aws: Any) -> None:
    glue = aws.client("glue")
    create_crawler(glue)
    before = glue.get_crawler(Name="raw")["Crawler"]

    glue.update_crawler(Name="raw", Description="second", TablePrefix="r_")

    after = glue.get_crawler(Name="raw")["Crawler"]
    assert after["Description"] == "second"
    assert after["TablePrefix"] == "r_"
    assert after["Targets"] == before["Targets"]
    assert after["Schedule"]["ScheduleExpression"] == "cron(0 0 1 */3 ? *)"
    assert after["DatabaseName"] == "db"
    assert after["Version"] == before["Version"] + 1


def test_update_crawler_with_empty_schedule_clears_it(aws: Any) -> None:
    glue = aws.client("glue")
    create_crawler(glue)

    glue.update_crawler(Name="raw", Schedule="")

    crawler = glue.get_crawler(Name="raw")["Crawler"]
    assert "Schedule" not in crawler
    assert crawler["Description"] == "first"


def test_update_crawler_that_does_not_exist_is_entity_not_found(aws: Any) -> None:
    with pytest.raises(ClientError) as error:
        aws.client("glue").update_crawler(Name="missing", Description="x")
    assert error_code(error) == "EntityNotFoundException"


def test_running_crawler_refuses_update_and_delete(aws: Any) -> None:
    call_admin(aws.url, "settings", {"crawl_min_seconds": 30})  # keep the crawl RUNNING while we look
    glue = aws.client("glue")
    create_crawler(glue)
    glue.start_crawler(Name="raw")

    with pytest.raises(ClientError) as update_error:
        glue.update_crawler(Name="raw", Description="while running")
    with pytest.raises(ClientError) as delete_error:
        glue.delete_crawler(Name="raw")
    glue.stop_crawler(Name="raw")

    assert error_code(update_error) == "CrawlerRunningException"
    assert error_code(delete_error) == "CrawlerRunningException"


def test_get_crawler_reports_role_name_and_aws_defaults(aws: Any) -> None:
    glue = aws.client("glue")
    create_crawler(glue)

    crawler = glue.get_crawler(Name="raw")["Crawler"]

    assert crawler["Role"] == f"service-role/{SUITE_GLUE_ROLE}"
    assert crawler["SchemaChangePolicy"] == {
        "UpdateBehavior": "UPDATE_IN_DATABASE",
        "DeleteBehavior": "DEPRECATE_IN_DATABASE",
    }
    assert crawler["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_EVERYTHING"}
    assert crawler["LineageConfiguration"] == {"CrawlerLineageSettings": "DISABLE"}
    assert crawler["Classifiers"] == []


def create_job(glue: Any, name: str = "prepare") -> None:
    glue.create_job(
        Name=name,
        Role=ROLE_ARN,
        Description="first",
        Command={"Name": "glueetl", "ScriptLocation": "s3://bucket/scripts/job.py", "PythonVersion": "3"},
        DefaultArguments={"--input_path": "s3://bucket/raw/"},
        GlueVersion="5.0",
        WorkerType="G.1X",
        NumberOfWorkers=2,
        Timeout=60,
        MaxRetries=1,
        Tags={"reconciler:managed": "true"},
    )


def test_update_job_replaces_the_whole_definition(aws: Any) -> None:
    glue = aws.client("glue")
    create_job(glue)

    glue.update_job(
        JobName="prepare",
        JobUpdate={
            "Role": ROLE_ARN,
            "Command": {"Name": "glueetl", "ScriptLocation": "s3://bucket/scripts/job2.py"},
            "GlueVersion": "5.0",
        },
    )

    job = glue.get_job(JobName="prepare")["Job"]
    assert job["Command"]["ScriptLocation"] == "s3://bucket/scripts/job2.py"
    assert "Description" not in job
    assert job.get("DefaultArguments", {}) == {}
    assert "WorkerType" not in job and "NumberOfWorkers" not in job
    assert job["Timeout"] == 480  # reset to AWS's default for Glue 5.0 (botocore glue model, CreateJob Timeout)
    assert job["MaxRetries"] == 0
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    tags = glue.get_tags(ResourceArn="arn:aws:glue:eu-central-1:123456789012:job/prepare")["Tags"]
    assert tags == {"reconciler:managed": "true"}  # tags are not part of the definition


def test_update_job_requires_role_and_command(aws: Any) -> None:
    glue = aws.client("glue")
    create_job(glue)

    with pytest.raises(ClientError) as error:
        glue.update_job(JobName="prepare", JobUpdate={"Role": ROLE_ARN, "Description": "no command"})

    assert error_code(error) == "InvalidInputException"
    assert glue.get_job(JobName="prepare")["Job"]["Description"] == "first"


def test_update_job_refuses_max_capacity_with_workers(aws: Any) -> None:
    glue = aws.client("glue")
    create_job(glue)

    with pytest.raises(ClientError) as error:
        glue.update_job(
            JobName="prepare",
            JobUpdate={
                "Role": ROLE_ARN,
                "Command": {"Name": "glueetl", "ScriptLocation": "s3://bucket/scripts/job.py"},
                "MaxCapacity": 2.0,
                "WorkerType": "G.1X",
                "NumberOfWorkers": 2,
            },
        )

    assert error_code(error) == "InvalidInputException"


def test_update_job_that_does_not_exist_is_entity_not_found(aws: Any) -> None:
    with pytest.raises(ClientError) as error:
        aws.client("glue").update_job(
            JobName="missing",
            JobUpdate={"Role": ROLE_ARN, "Command": {"Name": "glueetl", "ScriptLocation": "s3://b/j.py"}},
        )
    assert error_code(error) == "EntityNotFoundException"


def test_get_job_reports_the_defaults_aws_fills_in(aws: Any) -> None:
    glue = aws.client("glue")
    glue.create_job(Name="bare", Role=ROLE_ARN, Command={"Name": "glueetl", "ScriptLocation": "s3://b/j.py"},
                    WorkerType="G.1X", NumberOfWorkers=2)

    job = glue.get_job(JobName="bare")["Job"]

    # No GlueVersion: the newest, whose default Timeout is 480 (botocore glue model, CreateJob Timeout)
    assert job["Timeout"] == 480
    assert job["MaxRetries"] == 0
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert job["MaxCapacity"] == 2.0
    assert job["JobMode"] == "SCRIPT"
    assert job["Command"]["PythonVersion"] == "3"


@pytest.mark.parametrize(("version", "minutes"), [("3.0", 2880), ("4.0", 2880), ("5.0", 480), ("5.1", 480)])
def test_the_default_timeout_depends_on_the_glue_version(aws: Any, version: str, minutes: int) -> None:
    glue = aws.client("glue")
    glue.create_job(Name="bare", Role=ROLE_ARN, Command={"Name": "glueetl", "ScriptLocation": "s3://b/j.py"},
                    GlueVersion=version, WorkerType="G.1X", NumberOfWorkers=2)  # fmt: skip
    assert glue.get_job(JobName="bare")["Job"]["Timeout"] == minutes


def create_triggers(glue: Any) -> None:
    glue.create_workflow(Name="quarterly")
    glue.create_trigger(
        Name="start",
        WorkflowName="quarterly",
        Type="SCHEDULED",
        Schedule="cron(0 0 1 */3 ? *)",
        Actions=[{"CrawlerName": "raw"}],
        Description="first",
    )
    glue.create_trigger(
        Name="then",
        WorkflowName="quarterly",
        Type="CONDITIONAL",
        # No `Logical`: AWS defaults it to AND (moto answered HTTP 500).
        Predicate={"Conditions": [{"LogicalOperator": "EQUALS", "CrawlerName": "raw", "CrawlState": "SUCCEEDED"}]},
        Actions=[{"JobName": "prepare"}],
        StartOnCreation=True,
    )


def test_create_trigger_without_logical_defaults_to_and(aws: Any) -> None:
    glue = aws.client("glue")
    create_triggers(glue)

    trigger = glue.get_trigger(Name="then")["Trigger"]

    assert trigger["Predicate"]["Logical"] == "AND"
    assert trigger["State"] == "ACTIVATED"


def test_update_trigger_replaces_the_definition_but_not_type_workflow_or_state(aws: Any) -> None:
    glue = aws.client("glue")
    create_triggers(glue)

    answer = glue.update_trigger(
        Name="then",
        TriggerUpdate={
            "Predicate": {
                "Logical": "ANY",
                "Conditions": [{"LogicalOperator": "EQUALS", "CrawlerName": "raw", "CrawlState": "FAILED"}],
            },
            "Actions": [{"JobName": "other", "Arguments": {"--x": "1"}}],
        },
    )

    trigger = glue.get_trigger(Name="then")["Trigger"]
    assert answer["Trigger"]["Name"] == "then"
    assert trigger["Type"] == "CONDITIONAL"
    assert trigger["WorkflowName"] == "quarterly"
    assert trigger["State"] == "ACTIVATED"
    assert trigger["Predicate"]["Logical"] == "ANY"
    assert trigger["Predicate"]["Conditions"][0]["CrawlState"] == "FAILED"
    assert trigger["Actions"] == [{"JobName": "other", "Arguments": {"--x": "1"}}]


def test_update_trigger_resets_omitted_description(aws: Any) -> None:
    glue = aws.client("glue")
    create_triggers(glue)

    glue.update_trigger(
        Name="start",
        TriggerUpdate={"Schedule": "cron(0 6 * * ? *)", "Actions": [{"CrawlerName": "raw"}]},
    )

    trigger = glue.get_trigger(Name="start")["Trigger"]
    assert trigger["Schedule"] == "cron(0 6 * * ? *)"
    assert "Description" not in trigger
    assert trigger["Type"] == "SCHEDULED"


def test_update_trigger_without_actions_is_invalid(aws: Any) -> None:
    glue = aws.client("glue")
    create_triggers(glue)

    with pytest.raises(ClientError) as error:
        glue.update_trigger(Name="start", TriggerUpdate={"Schedule": "cron(0 6 * * ? *)"})

    assert error_code(error) == "InvalidInputException"


def test_update_trigger_that_does_not_exist_is_entity_not_found(aws: Any) -> None:
    with pytest.raises(ClientError) as error:
        aws.client("glue").update_trigger(Name="missing", TriggerUpdate={"Actions": [{"JobName": "j"}]})
    assert error_code(error) == "EntityNotFoundException"


def test_create_bucket_applies_tags_given_at_creation(aws: Any) -> None:
    """AWS tags a bucket atomically with CreateBucketConfiguration.Tags; moto alone ignores them."""
    s3 = aws.client("s3")
    s3.create_bucket(
        Bucket="tagged-at-birth",
        CreateBucketConfiguration={"LocationConstraint": aws.region, "Tags": [{"Key": "team", "Value": "data"}]},
    )
    assert s3.get_bucket_tagging(Bucket="tagged-at-birth")["TagSet"] == [{"Key": "team", "Value": "data"}]
