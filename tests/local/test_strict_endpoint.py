"""The settings that make the endpoint enforce what AWS enforces, each over HTTP with plain boto3.

Each test turns its setting on through `POST /_reconciler/settings` (the `aws` fixture's reset turns it
off again): role resolution, the IAM propagation window, IAM enforcement for the operator and for the
Glue role, the new-bucket window, the Glue 5 log layout and the tag-filter semantics.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from reconciler_local import call_admin, reset

from .helpers import make_bucket, wait_for_crawl, wait_for_job_run

BUCKET = "data-bucket"
ACCOUNT = "123456789012"
TRUST_GLUE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
TRUST_EC2 = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
ASSUME = "Service is unable to assume provided role"
TRUST = "Please verify the role's TrustPolicy"
CSV = b"brand,founded\nVW,1937\nBMW,1916\n"


def settings(aws: Any, **changes: Any) -> None:
    call_admin(aws.url, "settings", changes)


@pytest.fixture(autouse=True)
def _no_propagation_window(aws: Any) -> None:
    """The suite turns on a 2 s IAM propagation window (tests/conftest.py); only its own tests here want it."""
    settings(aws, iam_propagation_seconds=0, enforce_role_policies=False)


def create_role(aws: Any, name: str = "glue-role", path: str = "/", trust: dict[str, Any] | None = None,
                policy: dict[str, Any] | None = None) -> str:
    iam = aws.client("iam")
    arn: str = iam.create_role(RoleName=name, Path=path,
                               AssumeRolePolicyDocument=json.dumps(trust or TRUST_GLUE))["Role"]["Arn"]
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="access", PolicyDocument=json.dumps(policy))
    return arn


def create_crawler(glue: Any, role: str, name: str = "raw", path: str = f"s3://{BUCKET}/raw/cars/") -> None:
    glue.create_crawler(Name=name, Role=role, DatabaseName="cars", Targets={"S3Targets": [{"Path": path}]})


def refused(error: pytest.ExceptionInfo[ClientError]) -> str:
    assert error.value.response["Error"]["Code"] == "InvalidInputException"
    return str(error.value.response["Error"]["Message"])


def create_job(aws: Any, role: str, script: bytes, name: str = "job", **extra: Any) -> Any:
    aws.client("s3").put_object(Bucket=BUCKET, Key=f"scripts/{name}.py", Body=script)
    glue = aws.client("glue")
    extra.setdefault("GlueVersion", "5.0")
    kind = extra.pop("kind", "glueetl")
    glue.create_job(Name=name, Role=role, Command={"Name": kind, "ScriptLocation": f"s3://{BUCKET}/scripts/{name}.py"},
                    **extra)
    return glue


def run_job(glue: Any, name: str = "job", **arguments: str) -> dict[str, Any]:
    run_id = glue.start_job_run(JobName=name, Arguments=arguments)["JobRunId"]
    return wait_for_job_run(glue, name, run_id, timeout=60)


# -- role resolution ----------------------------------------------------------------------------------


def test_a_bare_name_is_a_role_without_a_path(aws: Any) -> None:
    settings(aws, role_resolution=True)
    make_bucket(aws, BUCKET)
    arn = create_role(aws, path="/reconciler/cars/")
    glue = aws.client("glue")

    with pytest.raises(ClientError) as error:
        create_crawler(glue, "glue-role")
    message = refused(error)
    assert ASSUME in message and TRUST in message

    create_crawler(glue, arn, name="by-arn")
    create_crawler(glue, "reconciler/cars/glue-role", name="by-path")
    assert glue.get_crawler(Name="by-arn")["Crawler"]["Role"] == "reconciler/cars/glue-role"
    assert glue.get_crawler(Name="by-path")["Crawler"]["Role"] == "reconciler/cars/glue-role"

    create_role(aws, name="plain-role")
    create_crawler(glue, "plain-role", name="plain")
    assert glue.get_crawler(Name="plain")["Crawler"]["Role"] == "plain-role"


def test_missing_role_untrusting_role_and_update_to_them_are_refused(aws: Any) -> None:
    settings(aws, role_resolution=True)
    glue = aws.client("glue")
    with pytest.raises(ClientError) as error:
        create_crawler(glue, f"arn:aws:iam::{ACCOUNT}:role/nobody")
    assert ASSUME in refused(error)

    create_role(aws, name="ec2-role", trust=TRUST_EC2)
    with pytest.raises(ClientError) as error:
        create_crawler(glue, "ec2-role")
    assert TRUST in refused(error)

    create_role(aws)
    create_crawler(glue, "glue-role")
    with pytest.raises(ClientError) as error:
        glue.update_crawler(Name="raw", Role="ec2-role")
    assert ASSUME in refused(error)
    assert glue.get_crawler(Name="raw")["Crawler"]["Role"] == "glue-role"


def test_job_run_with_an_unresolvable_role_fails(aws: Any) -> None:
    settings(aws, role_resolution=True)
    make_bucket(aws, BUCKET)
    arn = create_role(aws, path="/reconciler/cars/")
    glue = create_job(aws, "glue-role", b"print('ran')\n")  # CreateJob does not check the role

    run = run_job(glue)

    assert run["JobRunState"] == "FAILED"
    assert ASSUME in run["ErrorMessage"]
    assert f"arn:aws:iam::{ACCOUNT}:role/reconciler/cars/glue-role" not in run["ErrorMessage"]

    glue.update_job(JobName="job", JobUpdate={"Role": arn, "GlueVersion": "5.0", "Command": {
        "Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/scripts/job.py"}})
    assert run_job(glue)["JobRunState"] == "SUCCEEDED"


def test_without_role_resolution_a_bare_name_is_accepted(aws: Any) -> None:
    settings(aws, role_resolution=False)
    create_role(aws, path="/reconciler/cars/")
    glue = aws.client("glue")
    create_crawler(glue, "glue-role")
    create_crawler(glue, "no-such-role", name="other")
    assert glue.get_crawler(Name="raw")["Crawler"]["Role"] == "glue-role"


# -- propagation delay --------------------------------------------------------------------------------


def test_reset_keeps_the_roles_named_in_keep_roles_already_propagated(aws: Any) -> None:
    settings(aws, iam_propagation_seconds=30)
    iam = aws.client("iam")
    create_role(aws, "kept", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    created = time.monotonic()
    create_role(aws, "gone")
    glue = aws.client("glue")
    with pytest.raises(ClientError) as error:
        create_crawler(glue, "kept")
    assert ASSUME in refused(error)
    time.sleep(1.0)

    reset(aws.url, keep_roles=["kept"])  # 1 s after the role was created
    settings(aws, iam_propagation_seconds=2)
    time.sleep(max(0.0, created + 2.2 - time.monotonic()))

    assert [role["RoleName"] for role in iam.list_roles()["Roles"]] == ["kept"]
    assert iam.list_role_policies(RoleName="kept")["PolicyNames"] == ["access"]
    create_crawler(glue, "kept")  # 2.2 s old: its change time survived the reset (1.2 s ago)
    assert glue.get_crawler(Name="raw")["Crawler"]["Role"] == "kept"


WINDOW = 1.0


def test_a_role_changed_within_the_window_cannot_be_assumed_yet(aws: Any) -> None:
    settings(aws, iam_propagation_seconds=WINDOW)
    glue = aws.client("glue")
    create_role(aws)

    with pytest.raises(ClientError) as error:
        create_crawler(glue, "glue-role")
    message = refused(error)
    assert ASSUME in message and TRUST in message
    time.sleep(WINDOW + 0.1)
    create_crawler(glue, "glue-role")

    aws.client("iam").put_role_policy(RoleName="glue-role", PolicyName="more", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    with pytest.raises(ClientError) as error:
        glue.update_crawler(Name="raw", Description="changed")
    assert ASSUME in refused(error)
    time.sleep(WINDOW + 0.1)
    glue.update_crawler(Name="raw", Description="changed")


def test_trigger_and_job_run_within_the_window(aws: Any) -> None:
    make_bucket(aws, BUCKET)
    create_role(aws)
    glue = create_job(aws, "glue-role", b"print('ran')\n")
    settings(aws, iam_propagation_seconds=WINDOW)
    aws.client("iam").update_assume_role_policy(RoleName="glue-role", PolicyDocument=json.dumps(TRUST_GLUE))

    with pytest.raises(ClientError) as error:
        glue.create_trigger(Name="go", Type="ON_DEMAND", Actions=[{"JobName": "job"}])
    assert "Service is unable to assume role" in refused(error)
    run = run_job(glue)
    assert run["JobRunState"] == "FAILED"
    assert ASSUME in run["ErrorMessage"]

    time.sleep(WINDOW + 0.1)
    glue.create_trigger(Name="go", Type="ON_DEMAND", Actions=[{"JobName": "job"}])
    assert run_job(glue)["JobRunState"] == "SUCCEEDED"


# -- IAM enforcement for the operator -----------------------------------------------------------------


def user_client(aws: Any, service: str, keys: dict[str, str]) -> Any:
    # boto3-stubs type client() per literal service name; this helper takes any name, so the session is Any
    session: Any = boto3.session.Session(aws_access_key_id=keys["AccessKeyId"],
                                         aws_secret_access_key=keys["SecretAccessKey"], region_name=aws.region)
    return session.client(service, endpoint_url=aws.url,
                          config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))


def test_operator_requests_are_authorised_against_their_iam_policies(aws: Any) -> None:
    iam = aws.client("iam")
    iam.create_user(UserName="operator")
    iam.put_user_policy(UserName="operator", PolicyName="only", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["glue:GetDatabase", "logs:DescribeLogGroups"], "Resource": "*"}],
    }))
    keys = iam.create_access_key(UserName="operator")["AccessKey"]
    aws.client("glue").create_database(DatabaseInput={"Name": "cars"})
    make_bucket(aws, BUCKET)

    settings(aws, enforce_iam=True)

    glue = user_client(aws, "glue", keys)
    assert glue.get_database(Name="cars")["Database"]["Name"] == "cars"
    with pytest.raises(ClientError) as error:
        glue.get_crawlers()
    assert error.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "glue:GetCrawlers" in error.value.response["Error"]["Message"]
    user_client(aws, "logs", keys).describe_log_groups()
    assert user_client(aws, "sts", keys).get_caller_identity()["Arn"].endswith(":user/operator")
    for service, call in (("s3", "list_buckets"), ("iam", "list_roles")):
        with pytest.raises(ClientError) as error:
            getattr(user_client(aws, service, keys), call)()
        assert error.value.response["Error"]["Code"] == "AccessDenied", service
    with pytest.raises(ClientError) as error:  # the suite's dummy keys belong to no IAM user
        aws.client("glue").get_database(Name="cars")
    assert error.value.response["Error"]["Code"] == "UnrecognizedClientException"

    assert call_admin(aws.url, "settings")["enforce_iam"] is True  # admin routes stay unauthenticated
    settings(aws, enforce_iam=False)
    assert aws.client("glue").get_database(Name="cars")["Database"]["Name"] == "cars"


def test_glue_requests_are_authorised_on_the_resource_they_name(aws: Any) -> None:
    iam = aws.client("iam")
    iam.create_user(UserName="operator")
    prefix = f"arn:aws:glue:{aws.region}:{ACCOUNT}"
    iam.put_user_policy(UserName="operator", PolicyName="scoped", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetCrawler"],
                       # SAR (AWS Glue): database and table actions are also checked on the root catalog
                       "Resource": [f"{prefix}:catalog", f"{prefix}:database/cars", f"{prefix}:table/cars/*",
                                    f"{prefix}:crawler/raw"]}],
    }))
    keys = iam.create_access_key(UserName="operator")["AccessKey"]
    admin = aws.client("glue")
    for database in ("cars", "other"):
        admin.create_database(DatabaseInput={"Name": database})
        admin.create_table(DatabaseName=database, TableInput={"Name": "t"})
    create_role(aws)
    for crawler in ("raw", "theirs"):
        create_crawler(admin, "glue-role", name=crawler)
    settings(aws, enforce_iam=True)

    glue = user_client(aws, "glue", keys)
    glue.get_database(Name="cars")
    glue.get_table(DatabaseName="cars", Name="t")
    glue.get_crawler(Name="raw")
    denied: tuple[Callable[[], Any], ...] = (lambda: glue.get_database(Name="other"),
                                             lambda: glue.get_table(DatabaseName="other", Name="t"),
                                             lambda: glue.get_crawler(Name="theirs"), lambda: glue.get_databases())
    for call in denied:
        with pytest.raises(ClientError) as error:
            call()
        assert error.value.response["Error"]["Code"] == "AccessDeniedException"


def operator(aws: Any, *statements: dict[str, Any]) -> dict[str, str]:
    iam = aws.client("iam")
    iam.create_user(UserName="operator")
    iam.put_user_policy(UserName="operator", PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **st} for st in statements]}))
    keys: dict[str, str] = iam.create_access_key(UserName="operator")["AccessKey"]
    return keys


def denied(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as error:
        call()
    assert error.value.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied")
    return str(error.value.response["Error"]["Message"])


def test_glue_calls_are_checked_on_every_resource_aws_checks(aws: Any) -> None:
    """SAR, AWS Glue: GetDatabase on the root catalog and the database; DeleteDatabase also on all its tables and
    user-defined functions (AWS Glue Developer Guide, "Specifying AWS Glue resource ARNs")."""
    prefix = f"arn:aws:glue:{aws.region}:{ACCOUNT}"
    keys = operator(aws, {"Action": ["glue:GetDatabase", "glue:DeleteDatabase"],
                          "Resource": [f"{prefix}:database/cars", f"{prefix}:table/cars/*"]},
                    {"Action": ["glue:DeleteDatabase"], "Resource": [f"{prefix}:database/old", f"{prefix}:catalog",
                                                                     f"{prefix}:table/old/*",
                                                                     f"{prefix}:userDefinedFunction/old/*"]})
    for database in ("cars", "old"):
        aws.client("glue").create_database(DatabaseInput={"Name": database})
    settings(aws, enforce_iam=True)
    glue = user_client(aws, "glue", keys)
    assert f"on resource: {prefix}:catalog" in denied(lambda: glue.get_database(Name="cars"))
    assert "glue:DeleteDatabase" in denied(lambda: glue.delete_database(Name="cars"))
    glue.delete_database(Name="old")


def test_glue_create_calls_pass_the_role_and_carry_their_tags(aws: Any) -> None:
    """CreateCrawler has no resource type (SAR: only "*" matches) and passes its role: iam:PassRole on the role's
    ARN (with its path) with iam:PassedToService glue.amazonaws.com (IAM User Guide, "Granting a user
    permissions to pass a role to an AWS service"); aws:RequestTag is the request's Tags."""
    make_bucket(aws, BUCKET)
    role = create_role(aws, path="/reconciler/p/")
    keys = operator(aws, {"Action": "glue:CreateCrawler", "Resource": "*",
                          "Condition": {"StringEquals": {"aws:RequestTag/owner": "p"}}},
                    {"Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/reconciler/p/*",
                     "Condition": {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}})
    settings(aws, enforce_iam=True)
    glue = user_client(aws, "glue", keys)
    target = {"S3Targets": [{"Path": f"s3://{BUCKET}/raw/"}]}
    glue.create_crawler(Name="a", Role=role, DatabaseName="cars", Targets=target, Tags={"owner": "p"})
    assert "glue:CreateCrawler" in denied(lambda: glue.create_crawler(Name="b", Role=role, DatabaseName="cars",
                                                                      Targets=target, Tags={"owner": "other"}))
    settings(aws, enforce_iam=False)
    other = create_role(aws, name="other-role")
    settings(aws, enforce_iam=True)
    assert "iam:PassRole" in denied(lambda: glue.create_crawler(Name="c", Role=other, DatabaseName="cars",
                                                                Targets=target, Tags={"owner": "p"}))


def test_s3_requests_are_authorised_as_the_iam_actions_aws_evaluates(aws: Any) -> None:
    """Amazon S3 User Guide, "Required permissions for Amazon S3 API operations": HeadBucket and ListObjectsV2
    need s3:ListBucket; DeleteObjects needs s3:DeleteObject on each key's ARN."""
    make_bucket(aws, BUCKET)
    for key in ("a/1", "b/1"):
        aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"x")
    keys = operator(aws, {"Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
                    {"Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{BUCKET}/a/*"})
    settings(aws, enforce_iam=True)
    s3 = user_client(aws, "s3", keys)
    s3.head_bucket(Bucket=BUCKET)
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 2
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "a/1"}]})
    # a key the caller may not delete fails alone, in the answer's Errors (DeleteObjects API reference)
    answer = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "b/1"}]})
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("b/1", "AccessDenied")]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["b/1"]


def test_quicksight_sns_events_and_tagging_calls_are_authorised(aws: Any) -> None:
    keys = operator(aws, {"Action": "sns:CreateTopic", "Resource": f"arn:aws:sns:{aws.region}:{ACCOUNT}:ours"},
                    {"Action": "events:PutRule", "Resource": f"arn:aws:events:{aws.region}:{ACCOUNT}:rule/ours"},
                    {"Action": "quicksight:ListDataSets", "Resource": "*"},
                    {"Action": "tag:GetResources", "Resource": "*"})
    settings(aws, enforce_iam=True)
    sns, events = user_client(aws, "sns", keys), user_client(aws, "events", keys)
    sns.create_topic(Name="ours")
    denied(lambda: sns.create_topic(Name="theirs"))
    events.put_rule(Name="ours", EventPattern=json.dumps({"source": ["aws.glue"]}))
    denied(lambda: events.put_rule(Name="theirs", EventPattern=json.dumps({"source": ["aws.glue"]})))
    user_client(aws, "resourcegroupstaggingapi", keys).get_resources()
    quicksight = user_client(aws, "quicksight", keys)
    quicksight.list_data_sets(AwsAccountId=ACCOUNT)
    denied(lambda: quicksight.describe_data_set(AwsAccountId=ACCOUNT, DataSetId="x"))


# -- IAM enforcement for the Glue role ----------------------------------------------------------------


def pipeline_policy(*, s3_read: bool = True, s3_write_prefix: str | None = "out/",
                    catalog: tuple[str, ...] = ("glue:GetDatabase", "glue:CreateTable")) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [f"arn:aws:s3:::{BUCKET}"]}]
    if s3_read:
        statements.append({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{BUCKET}/*"]})
    if s3_write_prefix is not None:
        statements.append({"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
                           "Resource": [f"arn:aws:s3:::{BUCKET}/{s3_write_prefix}*"]})
    if catalog:
        statements.append({"Effect": "Allow", "Action": list(catalog), "Resource": [
            f"arn:aws:glue:{aws_region()}:{ACCOUNT}:catalog", f"arn:aws:glue:{aws_region()}:{ACCOUNT}:database/cars",
            f"arn:aws:glue:{aws_region()}:{ACCOUNT}:table/cars/*"]})
    return {"Version": "2012-10-17", "Statement": statements}


def aws_region() -> str:
    return "eu-central-1"


@pytest.mark.parametrize(
    ("policy", "status", "message"),
    [
        (pipeline_policy(), "SUCCEEDED", None),
        (pipeline_policy(s3_read=False), "FAILED", "Access Denied (Service: Amazon S3"),
        (pipeline_policy(catalog=("glue:GetDatabase",)), "FAILED", "is not authorized to perform: glue:CreateTable"),
    ],
    ids=["allowed", "no-s3-read", "no-create-table"],
)
def test_a_crawl_may_only_do_what_its_role_allows(aws: Any, policy: dict[str, Any], status: str,
                                                  message: str | None) -> None:
    settings(aws, enforce_role_policies=True)
    make_bucket(aws, BUCKET).put_object(Bucket=BUCKET, Key="raw/cars/part-1.csv", Body=CSV)
    create_role(aws, policy=policy)
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": "cars"})
    create_crawler(glue, "glue-role")

    glue.start_crawler(Name="raw")
    last = wait_for_crawl(glue, "raw")["LastCrawl"]

    assert last["Status"] == status
    if message is None:
        assert glue.get_tables(DatabaseName="cars")["TableList"][0]["Name"] == "cars"
    else:
        assert message in last["ErrorMessage"]
        assert glue.get_tables(DatabaseName="cars")["TableList"] == []


WRITING_SCRIPT = b'''
import os, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
with open(os.path.join(args["--output_path"], "report.txt"), "w") as handle:
    handle.write(open(os.path.join(args["--input_path"], "part-1.csv")).read())
'''


@pytest.mark.parametrize(("write_prefix", "status"), [("out/", "SUCCEEDED"), ("elsewhere/", "FAILED")])
def test_a_job_run_may_only_write_where_its_role_allows(aws: Any, write_prefix: str, status: str) -> None:
    settings(aws, enforce_role_policies=True)
    make_bucket(aws, BUCKET).put_object(Bucket=BUCKET, Key="raw/cars/part-1.csv", Body=CSV)
    create_role(aws, policy=pipeline_policy(s3_write_prefix=write_prefix))
    glue = create_job(aws, "glue-role", WRITING_SCRIPT)

    run = run_job(glue, **{"--input_path": f"s3://{BUCKET}/raw/cars/", "--output_path": f"s3://{BUCKET}/out/"})

    assert run["JobRunState"] == status
    listed = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="out/").get("Contents", [])
    if status == "SUCCEEDED":
        assert [obj["Key"] for obj in listed] == ["out/report.txt"]
    else:
        assert "Access Denied" in run["ErrorMessage"] and "s3:PutObject" in run["ErrorMessage"]
        assert listed == []


def test_a_job_run_cannot_read_its_script_without_s3_get_object(aws: Any) -> None:
    settings(aws, enforce_role_policies=True)
    make_bucket(aws, BUCKET)
    create_role(aws, policy=pipeline_policy(s3_read=False))
    glue = create_job(aws, "glue-role", b"print('ran')\n")

    run = run_job(glue)

    assert run["JobRunState"] == "FAILED"
    assert f"s3:GetObject on arn:aws:s3:::{BUCKET}/scripts/job.py" in run["ErrorMessage"]


SCRIPT_CALLING_AWS = b'''
import boto3
print(boto3.client("sts").get_caller_identity()["Arn"])
boto3.client("s3").list_objects_v2(Bucket="data-bucket")
boto3.client("glue").get_crawlers()
'''


def test_with_enforce_iam_the_script_calls_aws_as_its_role(aws: Any) -> None:
    make_bucket(aws, BUCKET)
    create_role(aws, policy=pipeline_policy())
    create_job(aws, "glue-role", SCRIPT_CALLING_AWS)
    iam = aws.client("iam")
    iam.create_user(UserName="operator")
    iam.put_user_policy(UserName="operator", PolicyName="runs", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["glue:StartJobRun", "glue:GetJobRun"], "Resource": "*"}],
    }))
    glue = user_client(aws, "glue", iam.create_access_key(UserName="operator")["AccessKey"])
    settings(aws, enforce_iam=True)

    run_id = glue.start_job_run(JobName="job")["JobRunId"]
    run = wait_for_job_run(glue, "job", run_id, timeout=60)

    assert run["JobRunState"] == "FAILED"  # the role may list the bucket but not call glue:GetCrawlers
    assert "AccessDeniedException" in run["ErrorMessage"]
    log = urllib.request.urlopen(f"{aws.url}/_reconciler/job-runs/{run_id}/log", timeout=10).read().decode()
    assert f"arn:aws:sts::{ACCOUNT}:assumed-role/glue-role/GlueJobRunnerSession" in log


# -- new-bucket window --------------------------------------------------------------------------------


def test_configuration_calls_answer_no_such_bucket_right_after_create_bucket(aws: Any) -> None:
    settings(aws, new_bucket_seconds=WINDOW)
    s3 = aws.client("s3", wait_for_new_buckets=False)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region})

    s3.head_bucket(Bucket=BUCKET)
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0
    calls: list[Callable[[], Any]] = [
        lambda: s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "a", "Value": "1"}]}),
        lambda: s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}),
        lambda: s3.get_bucket_tagging(Bucket=BUCKET),
        lambda: s3.put_object(Bucket=BUCKET, Key="lock", Body=b"x"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as error:
            call()
        assert error.value.response["Error"]["Code"] == "NoSuchBucket"

    time.sleep(WINDOW + 0.1)
    calls[0]()
    calls[1]()
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == [{"Key": "a", "Value": "1"}]
    calls[3]()


# -- Glue 5 log layout --------------------------------------------------------------------------------


LOGGING_SCRIPT = b'''
import sys
print("to stdout", flush=True)
print("to stderr", file=sys.stderr, flush=True)
'''


def messages(aws: Any, group: str, stream: str) -> list[str]:
    events = aws.client("logs").get_log_events(logGroupName=group, logStreamName=stream)["events"]
    return [event["message"] for event in events]


def test_glue_5_runs_log_to_driver_streams(aws: Any) -> None:
    make_bucket(aws, BUCKET)
    create_role(aws)
    glue = create_job(aws, "glue-role", LOGGING_SCRIPT)

    run = run_job(glue)

    assert run["JobRunState"] == "SUCCEEDED"
    stream = f"{run['Id']}-driver"
    assert sorted(messages(aws, "/aws-glue/jobs/output", stream)) == ["to stderr", "to stdout"]
    assert messages(aws, "/aws-glue/jobs/error", stream) == ["to stderr"]
    assert call_admin(aws.url, f"job-runs/{run['Id']}")["cloudwatch"]["stream"] == stream


@pytest.mark.parametrize("layout_setting", [True, False])
def test_before_glue_5_streams_are_the_run_id(aws: Any, layout_setting: bool) -> None:
    settings(aws, glue5_log_layout=layout_setting)
    make_bucket(aws, BUCKET)
    create_role(aws)
    glue = create_job(aws, "glue-role", LOGGING_SCRIPT, kind="pythonshell", GlueVersion="3.0")

    run = run_job(glue)

    assert run["JobRunState"] == "SUCCEEDED"
    assert messages(aws, "/aws-glue/jobs/output", run["Id"]) == ["to stdout"]
    assert messages(aws, "/aws-glue/jobs/error", run["Id"]) == ["to stderr"]


def test_without_the_glue_5_layout_glue_5_runs_use_the_old_one(aws: Any) -> None:
    settings(aws, glue5_log_layout=False)
    make_bucket(aws, BUCKET)
    create_role(aws)
    glue = create_job(aws, "glue-role", LOGGING_SCRIPT)

    run = run_job(glue)

    assert messages(aws, "/aws-glue/jobs/error", run["Id"]) == ["to stderr"]


# -- tag filter semantics -----------------------------------------------------------------------------


@pytest.mark.parametrize(("semantics", "expected"), [("and", ["both"]), ("or", ["both", "one"])])
def test_tag_filter_semantics(aws: Any, semantics: str, expected: list[str]) -> None:
    settings(aws, tag_filter=semantics)
    glue = aws.client("glue")
    command = {"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/s.py"}
    create_role(aws)
    for name, tags in (("both", {"a": "1", "b": "2"}), ("one", {"a": "1"}), ("none", {"c": "3"})):
        create_crawler(glue, "glue-role", name=name)
        glue.tag_resource(ResourceArn=f"arn:aws:glue:{aws.region}:{ACCOUNT}:crawler/{name}", TagsToAdd=tags)
        glue.create_job(Name=name, Role="glue-role", Command=command, Tags=tags)
        glue.create_trigger(Name=name, Type="ON_DEMAND", Actions=[{"JobName": name}], Tags=tags)

    wanted = {"a": "1", "b": "2"}
    assert sorted(glue.list_crawlers(Tags=wanted)["CrawlerNames"]) == expected
    assert sorted(glue.list_jobs(Tags=wanted)["JobNames"]) == expected
    assert sorted(glue.list_triggers(Tags=wanted)["TriggerNames"]) == expected


def test_unknown_tag_filter_is_refused(aws: Any) -> None:
    with pytest.raises(Exception, match="tag_filter must be one of and, or"):
        settings(aws, tag_filter="xor")
