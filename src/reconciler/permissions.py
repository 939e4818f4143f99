"""The least-privilege IAM policy an operator needs to validate, plan, apply, run, promote and destroy one
spec (`reconcile permissions [--json]`, docs/permissions.md).

Derived from what the code calls: actions_for (with S3_ACTIONS) maps every AWS operation the tool sends
(`service:Operation`, as AwsContext.counter names them) to the IAM actions it needs, and the statements
below grant exactly those actions, each on this spec's resources only. tests/integration/test_permissions.py
walks the calls of a whole lifecycle on the endpoint and checks that each is covered.

Action and resource names: Service Authorization Reference (Actions, resources, and condition keys for
Amazon S3, AWS Glue, IAM, Amazon CloudWatch Logs, AWS KMS, Resource Groups Tagging API); the S3 operation
-> action table: Amazon S3 User Guide, "Required permissions for Amazon S3 API operations".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.resources.base import Account
from reconciler.resources.event_rule import rule_arn, rule_wanted
from reconciler.resources.glue_common import role_reference
from reconciler.resources.quicksight import quicksight_statements
from reconciler.resources.role import glue_log_groups, role_path
from reconciler.resources.trigger import job_trigger_name, start_trigger_name
from reconciler.spec.model import OWNER_TAG, Pipeline

#: S3 operations whose action is not `s3:<Operation>` (Amazon S3 User Guide, "Required permissions for
#: Amazon S3 API operations"). CreateBucket with Tags needs s3:TagResource too (CreateBucket API reference,
#: "Permissions": to tag a bucket at creation you need s3:TagResource); we keep tags-at-create so that a
#: bucket is never ours-but-untagged, and grant it.
S3_ACTIONS: dict[str, tuple[str, ...]] = {
    "CreateBucket": ("s3:CreateBucket", "s3:TagResource"),
    "HeadBucket": ("s3:ListBucket",),
    "ListObjectsV2": ("s3:ListBucket",),
    "ListObjects": ("s3:ListBucket",),
    "ListObjectVersions": ("s3:ListBucketVersions",),
    "ListMultipartUploads": ("s3:ListBucketMultipartUploads",),
    "HeadObject": ("s3:GetObject",),
    "GetObject": ("s3:GetObject", "s3:GetObjectVersion"),
    "CreateMultipartUpload": ("s3:PutObject",),
    "UploadPart": ("s3:PutObject",),
    "CompleteMultipartUpload": ("s3:PutObject",),
    "CopyObject": ("s3:GetObject", "s3:PutObject"),
    "DeleteObjects": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
    "DeleteObject": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
    "GetBucketEncryption": ("s3:GetEncryptionConfiguration",),
    "PutBucketEncryption": ("s3:PutEncryptionConfiguration",),
    "GetPublicAccessBlock": ("s3:GetBucketPublicAccessBlock",),
    "PutPublicAccessBlock": ("s3:PutBucketPublicAccessBlock",),
    "GetBucketLifecycleConfiguration": ("s3:GetLifecycleConfiguration",),
    "PutBucketLifecycleConfiguration": ("s3:PutLifecycleConfiguration",),
}
#: Operations that need no permission: "No permissions are required to perform this operation" (STS API
#: reference, GetCallerIdentity).
FREE = frozenset({"sts:GetCallerIdentity"})


def actions_for(operation: str) -> tuple[str, ...]:
    """The IAM actions `service:Operation` needs (empty for a free one)."""
    if operation in FREE:
        return ()
    service, name = operation.split(":", 1)
    if service == "s3":
        return S3_ACTIONS.get(name, (f"s3:{name}",))
    if service == "resourcegroupstaggingapi":
        return (f"tag:{name}",)
    return (f"{service}:{name}",)


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    why: str
    condition: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Sid": self.sid, "Effect": "Allow"}
        out |= {"Action": sorted(set(self.actions)), "Resource": sorted(set(self.resources))}
        if self.condition:
            out["Condition"] = self.condition
        return out


def statements(pipeline: Pipeline, account: Account) -> list[Statement]:
    bucket = f"arn:{account.partition}:s3:::{pipeline.bucket.name}"
    db = pipeline.database.name

    def glue(resource: str) -> str:
        return account.arn("glue", resource)

    crawlers = tuple(glue(f"crawler/{c.name}") for c in pipeline.crawlers)
    jobs = tuple(glue(f"job/{j.name}") for j in pipeline.jobs)
    s = pipeline.schedule
    workflow = (glue(f"workflow/{s.workflow}"),) if s else ()
    triggers = tuple(
        glue(f"trigger/{n}") for n in ((start_trigger_name(s.workflow), job_trigger_name(s.workflow)) if s else ())
    )
    # Per the SAR (AWS Glue): the database actions act on the root catalog `catalog` and `database/<db>`; the
    # table actions also on `table/<db>/<t>`; DeleteDatabase on all of these and on the database's user-defined
    # functions (AWS Glue Developer Guide, "Specifying AWS Glue resource ARNs": deleting a database "requires
    # permission on all the tables and user-defined functions in the database").
    root = glue("catalog")
    database = (root, glue(f"database/{db}"))
    tables = (*database, glue(f"table/{db}/*"))
    owner = {"StringEquals": {f"aws:ResourceTag/{OWNER_TAG}": pipeline.name}}
    out = [
        Statement("PipelineBucket", (
            "s3:CreateBucket", "s3:TagResource", "s3:DeleteBucket", "s3:ListBucket", "s3:ListBucketVersions",
            "s3:ListBucketMultipartUploads", "s3:GetBucketTagging", "s3:PutBucketTagging", "s3:GetBucketVersioning",
            "s3:PutBucketVersioning", "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration",
            "s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:GetBucketOwnershipControls",
            "s3:PutBucketOwnershipControls", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
            "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
        ), (bucket,), "the bucket and its settings; s3:TagResource because CreateBucket carries our tags"),
        Statement("PipelineObjects", (
            "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion",
            "s3:AbortMultipartUpload",
        ), (f"{bucket}/*",), "uploads, lock, run history, reports, pointer, manifest; emptying the bucket on destroy"),
        Statement("PipelineCatalog", (
            "glue:CreateDatabase", "glue:GetDatabase", "glue:UpdateDatabase",
        ), database, "the database"),
        Statement("PipelineTables", ("glue:GetTables", "glue:GetTable", "glue:DeleteTable"), tables,
                  "the crawler's tables"),
        Statement("DeleteDatabase", ("glue:DeleteDatabase",),
                  (*tables, glue(f"userDefinedFunction/{db}/*")),
                  "destroy: deleting the database needs its tables and user-defined functions too"),
        Statement("GlueListings", ("glue:ListCrawlers", "glue:ListJobs", "glue:ListTriggers"), ("*",),
                  "List* filtered by our owner tag: these actions have no resource type"),
        Statement("FindOwned", ("tag:GetResources",), ("*",),
                  "buckets, databases, workflows and QuickSight assets under our owner tag; no resource type"),
    ]  # fmt: skip
    ours = (glue(f"database/{db}"), *crawlers, *jobs, *workflow, *triggers)
    out.append(Statement("GlueTags", ("glue:GetTags", "glue:TagResource", "glue:UntagResource"), ours,
                         "ownership tags: read, set, and remove keys we no longer declare"))  # fmt: skip
    # A crawler, job, workflow or trigger renamed or removed from the spec is still ours (its owner tag says so)
    # and must be read and deleted by the next apply or destroy: these actions are also allowed on any such
    # resource whose own tag names this pipeline (the SAR lists aws:ResourceTag/${TagKey} for Glue's crawler,
    # job, trigger and workflow resource types). The statements above name today's resources explicitly, so they
    # work whether or not a given action evaluates the tag.
    owned_kinds = [kind for kind, present in (("crawler", crawlers), ("job", jobs), ("workflow", workflow),
                                              ("trigger", triggers)) if present]  # fmt: skip
    if owned_kinds:
        owned_actions = {
            "crawler": ("glue:GetCrawler", "glue:DeleteCrawler", "glue:StopCrawler"),
            "job": ("glue:GetJob", "glue:DeleteJob"),
            "workflow": ("glue:GetWorkflow", "glue:DeleteWorkflow"),
            "trigger": ("glue:GetTrigger", "glue:DeleteTrigger", "glue:StopTrigger"),
        }
        for kind in owned_kinds:
            out.append(Statement(f"Renamed{kind.capitalize()}s", (
                "glue:GetTags", "glue:UntagResource", *owned_actions[kind],
            ), (glue(f"{kind}/*"),), f"{kind}s renamed or removed from the spec but still tagged as this "
                "pipeline's: read and delete them", owner))  # fmt: skip
    if crawlers:
        # glue:CreateCrawler has no resource type (SAR): only "*" matches; it is limited to requests that tag the
        # new crawler as this pipeline's (aws:RequestTag, listed for the action).
        out.append(Statement("CreateCrawlers", ("glue:CreateCrawler",), ("*",),
                             "crawlers are created with this pipeline's owner tag",
                             {"StringEquals": {f"aws:RequestTag/{OWNER_TAG}": pipeline.name}}))  # fmt: skip
        out.append(Statement("Crawlers", (
            "glue:GetCrawler", "glue:BatchGetCrawlers", "glue:UpdateCrawler",
            "glue:DeleteCrawler", "glue:StartCrawler", "glue:StopCrawler", "glue:ListCrawls",
        ), crawlers, "the spec's crawlers; run starts and waits for them"))  # fmt: skip
    if jobs:
        out.append(Statement("Jobs", (
            "glue:CreateJob", "glue:GetJob", "glue:BatchGetJobs", "glue:UpdateJob", "glue:DeleteJob",
            "glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun",
        ), jobs, "the spec's jobs; run starts, waits for and (on interrupt) stops their runs"))  # fmt: skip
    if workflow:
        out.append(Statement("Workflow", (
            "glue:CreateWorkflow", "glue:GetWorkflow", "glue:UpdateWorkflow", "glue:DeleteWorkflow",
            "glue:GetWorkflowRuns",
        ), workflow, "the quarterly workflow"))  # fmt: skip
        out.append(Statement("Triggers", (
            "glue:CreateTrigger", "glue:GetTrigger", "glue:BatchGetTriggers", "glue:UpdateTrigger",
            "glue:DeleteTrigger", "glue:StartTrigger", "glue:StopTrigger",
        ), triggers, "the workflow's start and after-crawl triggers"))  # fmt: skip
    role = role_reference(pipeline, account)
    if pipeline.role.managed_name:
        out.append(Statement("ManagedRole", (
            "iam:CreateRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole",
            "iam:TagRole", "iam:UntagRole", "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy",
            "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:DetachRolePolicy",
        ), (account.arn("iam", f"role{role_path(pipeline)}*", region=False),),
            "the managed role and its inline policy; any role under the pipeline's path /reconciler/<pipeline>/, "
            "so a renamed role is still reachable"))  # fmt: skip
        # GetRole of a role that does not exist yet (the plan before the first apply): IAM cannot know the path
        # from the name, and which ARN it authorises then is not documented; the path-less ARN is the plausible
        # one (role/<name>, the ARN a bare name resolves to), so GetRole alone is granted on it too (read only).
        out.append(Statement("ReadRoleByName", ("iam:GetRole",),
                             (account.arn("iam", f"role/{pipeline.role.managed_name}", region=False),),
                             "reading the role before it exists (plan before the first apply)"))  # fmt: skip
        out.append(Statement("FindRole", ("iam:ListRoles",), ("*",),
                             "ListRoles(PathPrefix=/reconciler/<pipeline>/): no resource type"))  # fmt: skip
    # iam:PassRole only for this role and only to Glue (IAM User Guide, "Granting a user permissions to pass a
    # role to an AWS service"; condition key iam:PassedToService): CreateCrawler/UpdateCrawler/CreateJob/UpdateJob.
    out.append(Statement("PassRoleToGlue", ("iam:PassRole",), (role,), "crawlers and jobs run as this role",
                         {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}))  # fmt: skip
    groups = glue_log_groups(pipeline)
    if groups:
        out.append(Statement("GlueLogs", ("logs:GetLogEvents",),
                             # SAR (CloudWatch Logs): GetLogEvents acts on resource type log-stream
                             tuple(account.arn("logs", f"log-group:{g}:log-stream:*") for g in groups),
                             "run prints the tail of a failed job's or crawl's log"))  # fmt: skip
    notify = pipeline.notify
    if notify is not None and notify.sns_topic_arn:
        out.append(Statement("NotifyTopic", ("sns:Publish",), (notify.sns_topic_arn,),
                             "run tells spec.notify's topic how the run ended (docs/notify.md)"))  # fmt: skip
    if notify is not None and notify.managed_topic is not None:
        # Amazon SNS actions (Service Authorization Reference, "Actions defined by Amazon SNS"); the topic's
        # tags are read and written with sns:ListTagsForResource / sns:TagResource / sns:UntagResource.
        out.append(Statement("NotifyManagedTopic", (
            "sns:CreateTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:DeleteTopic", "sns:Publish",
            "sns:ListTagsForResource", "sns:TagResource", "sns:UntagResource",
        ), (account.arn("sns", notify.managed_topic.name),), "the notification topic this pipeline owns"))  # fmt: skip
    if rule_wanted(pipeline):
        # Amazon EventBridge actions (Service Authorization Reference, "Actions defined by Amazon EventBridge":
        # each on resource type `rule`, arn:...:events:REGION:ACCOUNT:rule/NAME). An SNS target is authorised by
        # the topic's policy, not by a role, so PutTargets needs no iam:PassRole (PutTargets API reference).
        out.append(Statement("NotifyEventRule", (
            "events:PutRule", "events:DescribeRule", "events:DeleteRule", "events:PutTargets",
            "events:RemoveTargets", "events:ListTargetsByRule", "events:TagResource", "events:UntagResource",
            "events:ListTagsForResource",
        ), (rule_arn(account, pipeline),), "the EventBridge rule that tells the topic about failed job runs "
           "the Glue workflow starts (docs/notify.md)"))  # fmt: skip
    out += quicksight_statements(pipeline, account)
    enc = pipeline.bucket.encryption
    if enc.type == "SSE-KMS" and enc.kms_key_arn:
        # Reading and writing SSE-KMS objects (Amazon S3 User Guide, "Using server-side encryption with AWS KMS
        # keys"): kms:GenerateDataKey to write, kms:Decrypt to read. The AWS managed key needs no grant.
        out.append(Statement("BucketKey", ("kms:Decrypt", "kms:GenerateDataKey"), (enc.kms_key_arn,),
                             "objects encrypted with the bucket's KMS key"))  # fmt: skip
    return out


def operator_policy(pipeline: Pipeline, account: Account) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [s.as_json() for s in statements(pipeline, account)]}


def granted_actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] for a in s["Action"]}
