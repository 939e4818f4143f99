"""Glue reads, tags and tag filters over HTTP: what the reconciler's readers rely on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import SUITE_GLUE_ROLE_ARN

ACCOUNT = "123456789012"

# Every crawler and job here gets a real role Glue may assume (the suite resolves roles as AWS does).
pytestmark = pytest.mark.usefixtures("glue_role_arn")


def arn(kind: str, name: str) -> str:
    return f"arn:aws:glue:eu-central-1:{ACCOUNT}:{kind}/{name}"


def test_list_with_tags_returns_only_resources_carrying_every_tag(aws: Any) -> None:
    glue = aws.client("glue")
    targets = {"S3Targets": [{"Path": "s3://bucket/raw/"}]}
    glue.create_crawler(Name="ours", Role=SUITE_GLUE_ROLE_ARN, DatabaseName="db", Targets=targets,
                        Tags={"reconciler:pipeline": "car-brands", "reconciler:managed": "true"})
    glue.create_crawler(Name="other", Role=SUITE_GLUE_ROLE_ARN, DatabaseName="db", Targets=targets,
                        Tags={"reconciler:pipeline": "other", "reconciler:managed": "true"})
    command = {"Name": "glueetl", "ScriptLocation": "s3://bucket/job.py"}
    glue.create_job(Name="ours", Role=SUITE_GLUE_ROLE_ARN, Command=command, Tags={"reconciler:pipeline": "car-brands"})
    glue.create_job(Name="untagged", Role=SUITE_GLUE_ROLE_ARN, Command=command)
    glue.create_trigger(Name="ours", Type="ON_DEMAND", Actions=[{"JobName": "ours"}],
                        Tags={"reconciler:pipeline": "car-brands"})

    wanted = {"reconciler:pipeline": "car-brands", "reconciler:managed": "true"}
    assert glue.list_crawlers(Tags=wanted)["CrawlerNames"] == ["ours"]
    assert glue.list_crawlers()["CrawlerNames"] == ["ours", "other"]
    assert glue.list_jobs(Tags={"reconciler:pipeline": "car-brands"})["JobNames"] == ["ours"]
    assert glue.list_triggers(Tags={"reconciler:pipeline": "car-brands"})["TriggerNames"] == ["ours"]


def test_tag_get_untag_on_every_kind(aws: Any) -> None:
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": "db"}, Tags={"a": "1"})
    glue.create_crawler(Name="c", Role=SUITE_GLUE_ROLE_ARN, DatabaseName="db", Targets={"S3Targets": [{"Path": "s3://b/p/"}]},
                        Tags={"a": "1"})
    glue.create_job(Name="j", Role=SUITE_GLUE_ROLE_ARN, Command={"Name": "glueetl", "ScriptLocation": "s3://b/j.py"},
                    Tags={"a": "1"})
    glue.create_workflow(Name="w", Tags={"a": "1"})
    glue.create_trigger(Name="t", WorkflowName="w", Type="ON_DEMAND", Actions=[{"JobName": "j"}],
                        Tags={"a": "1"})

    for kind, name in (("crawler", "c"), ("job", "j"), ("workflow", "w"), ("trigger", "t")):
        resource = arn(kind, name)
        assert glue.get_tags(ResourceArn=resource)["Tags"] == {"a": "1"}, kind
        glue.tag_resource(ResourceArn=resource, TagsToAdd={"b": "2"})
        glue.untag_resource(ResourceArn=resource, TagsToRemove=["a"])
        assert glue.get_tags(ResourceArn=resource)["Tags"] == {"b": "2"}, kind


def test_deleting_a_resource_deletes_its_tags(aws: Any) -> None:
    glue = aws.client("glue")
    command = {"Name": "glueetl", "ScriptLocation": "s3://b/j.py"}
    glue.create_job(Name="j", Role=SUITE_GLUE_ROLE_ARN, Command=command, Tags={"reconciler:managed": "true"})
    glue.create_crawler(Name="c", Role=SUITE_GLUE_ROLE_ARN, DatabaseName="db", Targets={"S3Targets": [{"Path": "s3://b/p/"}]},
                        Tags={"reconciler:managed": "true"})

    glue.delete_job(JobName="j")
    glue.delete_crawler(Name="c")
    glue.create_job(Name="j", Role=SUITE_GLUE_ROLE_ARN, Command=command)
    glue.create_crawler(Name="c", Role=SUITE_GLUE_ROLE_ARN, DatabaseName="db", Targets={"S3Targets": [{"Path": "s3://b/p/"}]})

    # A same-named resource created by someone else must not look like ours.
    assert glue.get_tags(ResourceArn=arn("job", "j"))["Tags"] == {}
    assert glue.get_tags(ResourceArn=arn("crawler", "c"))["Tags"] == {}


def test_workflow_with_triggers_reads_back(aws: Any) -> None:
    glue = aws.client("glue")
    glue.create_workflow(Name="quarterly", Description="car brands", Tags={"a": "1"})
    glue.create_trigger(Name="start", WorkflowName="quarterly", Type="SCHEDULED",
                        Schedule="cron(0 0 1 */3 ? *)", Actions=[{"CrawlerName": "raw"}])

    workflow = glue.get_workflow(Name="quarterly")["Workflow"]
    trigger = glue.get_trigger(Name="start")["Trigger"]

    assert workflow["Name"] == "quarterly"
    assert workflow["Description"] == "car brands"
    assert trigger["WorkflowName"] == "quarterly"
    assert trigger["Schedule"] == "cron(0 0 1 */3 ? *)"
    assert glue.list_workflows()["Workflows"] == ["quarterly"]
