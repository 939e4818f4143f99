"""The managed IAM role the crawler and job run as: trusts only glue.amazonaws.com and may do only
what they need, on this bucket's ARNs, this database and the Glue log groups.

An existing role named by ARN in the spec is only referenced, never created or changed."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable
from typing import Any, ClassVar

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError
from reconciler.iam_statement import Statement
from reconciler.resources import fields
from reconciler.resources.base import (
    Account,
    AttrChange,
    Attrs,
    Desired,
    Observed,
    ResourceKind,
    aws_error,
    desired_tags,
    is_not_found,
    registered,
    tags_to_remove,
)
from reconciler.resources.bucket_policy import normalise_policy
from reconciler.resources.fields import Field
from reconciler.resources.guards import policy_document
from reconciler.spec import arguments, model, reserved
from reconciler.spec.model import Pipeline

INLINE_POLICY = "pipeline-access"


def role_path(pipeline: Pipeline) -> str:
    # A path per pipeline lets ListRoles(PathPrefix) find what we own in one call.
    return f"/reconciler/{pipeline.name}/"


def trust_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }


def output_prefixes(pipeline: Pipeline) -> list[str]:
    """Key prefixes the jobs write to: the values of output job arguments (spec/arguments.py), which validation
    has kept inside our bucket, normalised and clear of the uploads and the tool's own keys."""
    prefixes = set()
    own = f"s3://{pipeline.bucket.name}/"
    for job in pipeline.jobs:
        for key, value in job.arguments:
            if arguments.role_of(key, value) == arguments.OUTPUT and value.startswith(own) and value != own:
                prefixes.add(value[len(own) :])
    return sorted(prefixes)


def external_reads(pipeline: Pipeline) -> list[tuple[str, str, bool]]:
    """(bucket, key prefix, listed) of every input and code location outside our bucket; validation has checked
    each is under an entry of spec.allow. Inputs are listed (Spark lists a prefix), code is only read."""
    found: set[tuple[str, str, bool]] = set()
    for job in pipeline.jobs:
        for key, value in job.arguments:
            role = arguments.role_of(key, value)
            if role not in (arguments.INPUT, arguments.CODE):
                continue
            for location in arguments.locations(key, value):
                bucket, _, prefix = location.removeprefix("s3://").partition("/")
                if location.startswith("s3://") and bucket and bucket != pipeline.bucket.name:
                    found.add((bucket, prefix, role == arguments.INPUT))
    return sorted(found)


def metrics_enabled(arguments: Iterable[tuple[str, str]]) -> bool:
    """A job publishes CloudWatch metrics when `--enable-metrics` is among its arguments (AWS Glue "Using job
    parameters": "--enable-metrics ... Enables the collection of metrics"); "false" is read as off."""
    return any(key == "--enable-metrics" and str(value).lower() != "false" for key, value in arguments)


def glue_log_groups(pipeline: Pipeline) -> list[str]:
    """Where the crawlers and jobs write logs: crawlers to /aws-glue/crawlers; Glue 5 job drivers to
    /aws-glue/jobs/output and /aws-glue/jobs/error (AWS Glue "Logging for AWS Glue jobs"); nothing else."""
    groups = ["/aws-glue/crawlers"] if pipeline.crawlers else []
    if pipeline.jobs:
        groups += ["/aws-glue/jobs/error", "/aws-glue/jobs/output"]
    return groups


def role_reference(pipeline: Pipeline, account: Account) -> str:
    """What we send as Role: always a full ARN. The managed role lives under `/reconciler/<pipeline>/`, and a
    bare name would make Glue look for `arn:aws:iam::ACCOUNT:role/NAME` without the path ("Service is unable
    to assume role"; terraform-provider-aws PR 6285: a role with a path needs its ARN)."""
    if pipeline.role.managed_name:
        path = role_path(pipeline).strip("/")
        return account.arn("iam", f"role/{path}/{pipeline.role.managed_name}", region=False)
    assert pipeline.role.arn is not None  # spec validation guarantees one of the two
    return pipeline.role.arn


def access_policy(pipeline: Pipeline, account: Account) -> dict[str, Any]:
    """The role's inline policy: every kind's role_statements (resources/__init__.py KINDS, in that order) and
    the Glue log groups the crawlers and jobs write to. With no output prefix the role writes nothing."""
    statements = [s for kind in registered() for s in kind().role_statements(pipeline, account)]
    groups = glue_log_groups(pipeline)
    if groups:
        statements.append({
            "Sid": "GlueLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": sorted(arn for g in groups for arn in (account.arn("logs", f"log-group:{g}"),
                                                               account.arn("logs", f"log-group:{g}:*"))),
        })  # fmt: skip
    return {"Version": "2012-10-17", "Statement": statements}


def catalog_arns(pipeline: Pipeline, account: Account) -> list[str]:
    """The root catalog, the database and its tables: what the crawlers and jobs read and write in the
    Data Catalog (Service Authorization Reference, AWS Glue: table actions act on all three)."""
    db = pipeline.database.name
    return sorted([account.arn("glue", "catalog"), account.arn("glue", f"database/{db}"),
                   account.arn("glue", f"table/{db}/*")])  # fmt: skip


def job_role_statements(pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
    """What the jobs' arguments need: writing their output run prefixes, reading (and listing) what spec.allow
    lets them read outside the bucket, and CloudWatch metrics (JobKind.role_statements)."""
    statements: list[dict[str, Any]] = []
    bucket_arn = f"arn:{account.partition}:s3:::{pipeline.bucket.name}"
    # Exactly the output prefixes' run prefixes, never the whole bucket: with none, the role writes nothing.
    writes = output_prefixes(pipeline)
    if writes:
        statements.append({
            "Sid": "WriteJobOutputs",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:PutObject"],
            # Only the run prefixes: every job run writes under <output>runs/<run id>/ (write-audit-publish,
            # quarterly/publish.py), never beside them, so the job cannot write the published pointer
            # <output>_published.json that selects what consumers read.
            "Resource": sorted(f"{bucket_arn}/{reserved.runs_prefix(p)}*" for p in writes),
        })  # fmt: skip
    external = external_reads(pipeline)
    if external:
        # Allowed in the spec (spec.allow): the job reads its input or loads code there with this role. ListBucket
        # is limited to the prefixes by the s3:prefix condition key (Service Authorization Reference, Amazon S3).
        partition = account.partition
        statements.append({
            "Sid": "ReadAllowedExternal",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": sorted({f"arn:{partition}:s3:::{b}/{p}*" for b, p, _ in external}),
        })  # fmt: skip
        listed = sorted({b for b, _, is_input in external if is_input})
        for n, b in enumerate(listed, 1):
            prefixes = sorted({f"{p}*" for other, p, is_input in external if other == b and is_input})
            statements.append({
                "Sid": f"ListAllowedExternal{n}",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:{partition}:s3:::{b}"],
                "Condition": {"StringLike": {"s3:prefix": prefixes}},
            })  # fmt: skip
    if any(metrics_enabled(job.arguments) for job in pipeline.jobs):
        # `--enable-metrics` makes the job publish to CloudWatch namespace "Glue" (AWS Glue "job parameters"
        # docs); PutMetricData has no resource-level permissions (Service Authorization Reference,
        # Amazon CloudWatch), so it is limited by the cloudwatch:namespace condition key instead.
        statements.append({
            "Sid": "JobMetrics",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": ["*"],
            "Condition": {"StringEquals": {"cloudwatch:namespace": "Glue"}},
        })  # fmt: skip
    return statements


def policy_region(access: Any) -> str | None:
    """The region a managed role serves: that of the Glue catalog ARN its inline policy grants (access_policy
    always grants `arn:<partition>:glue:<region>:<account>:catalog`); None when there is no such policy."""
    statements = (access or {}).get("Statement", []) if isinstance(access, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        resources = statement.get("Resource", []) if isinstance(statement, dict) else []
        for resource in [resources] if isinstance(resources, str) else resources:
            parts = str(resource).split(":")
            if len(parts) == 6 and parts[0] == "arn" and parts[2] == "glue" and parts[5] == "catalog" and parts[3]:
                return parts[3]
    return None


def serves_elsewhere(name: str, region: str | None, here: str) -> str | None:
    """Why role `name`, tagged as this pipeline's, is not this plan's to change: it serves the pipeline in
    another region. IAM is global (one role name per account, whatever the region), while everything else the
    pipeline owns is regional, so the same spec applied in a second region would otherwise rewrite the first
    region's role for its own bucket, or delete it. docs/regions.md."""
    if region is None or region == here:
        return None
    return (
        f"is this pipeline's role in region {region} (IAM roles are global: one role cannot serve {here} too); "
        f"give this region its own role name, e.g. spec.role.managed.name: {name}-{here}, "
        f"or move the role here with --adopt role.{name}"
    )


def parse_policy_document(doc: Any) -> Any:
    """IAM returns policy documents URL-encoded JSON (boto3 decodes some, not all)."""
    if isinstance(doc, str):
        doc = json.loads(urllib.parse.unquote(doc))
    return normalise_policy(doc)


#: Every attribute of the managed role, stated once (IAM API reference: CreateRole / GetRole Role). The policy
#: documents are irregular: IAM takes them as JSON text and answers them URL-encoded (parse_policy_document).
FIELDS: tuple[Field, ...] = (
    # UpdateRole cannot change Path (IAM API reference, UpdateRole): a change means replace.
    Field("path", "Path", default="/", immutable=True, note="/reconciler/<pipeline>/; no sample: cannot change"),
    Field("description", "Description", default="", sample="Changed by the acceptance test",
          note="written by CreateRole / UpdateRole"),
    Field("trust_policy", "AssumeRolePolicyDocument", write=json.dumps, read=parse_policy_document,
          widens=policy_document, sample=normalise_policy({"Version": "2012-10-17", "Statement": [
              {"Effect": "Allow", "Action": "sts:AssumeRole",
               "Principal": {"Service": ["ec2.amazonaws.com", "glue.amazonaws.com"]}}]}),
          note="written by CreateRole / UpdateAssumeRolePolicy as JSON text"),
    Field("access_policy", widens=policy_document,
          note=f"the inline policy {INLINE_POLICY!r}: PutRolePolicy / GetRolePolicy; None when missing"),
)  # fmt: skip


class RoleKind(ResourceKind):
    kind: ClassVar[str] = "role"
    level: ClassVar[int] = 1
    fields: ClassVar[tuple[Field, ...]] = FIELDS
    spec_section: ClassVar[tuple[str, ...] | None] = ("spec", "role")
    spec_model: ClassVar[type | None] = model.Role
    tagging_type: ClassVar[str | None] = None  # listed with ListRoles(PathPrefix)
    runs: ClassVar[bool] = False

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        out: list[Statement] = []
        if pipeline.role.managed_name:
            out.append(Statement("ManagedRole", (
                "iam:CreateRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole",
                "iam:TagRole", "iam:UntagRole", "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy",
                "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:DetachRolePolicy",
            ), (account.arn("iam", f"role{role_path(pipeline)}*", region=False),),
                "the managed role and its inline policy; any role under the pipeline's path /reconciler/<pipeline>/, "
                "so a renamed role is still reachable"))  # fmt: skip
            # GetRole of a role that does not exist yet (the plan before the first apply): IAM cannot know the
            # path from the name, and which ARN it authorises then is not documented; the path-less ARN is the
            # plausible one (role/<name>, the ARN a bare name resolves to), so GetRole alone is granted on it too.
            out.append(Statement("ReadRoleByName", ("iam:GetRole",),
                                 (account.arn("iam", f"role/{pipeline.role.managed_name}", region=False),),
                                 "reading the role before it exists (plan before the first apply)"))  # fmt: skip
            out.append(Statement("FindRole", ("iam:ListRoles",), ("*",),
                                 "ListRoles(PathPrefix=/reconciler/<pipeline>/): no resource type"))  # fmt: skip
        # iam:PassRole only for this role and only to Glue (IAM User Guide, "Granting a user permissions to pass a
        # role to an AWS service"; condition key iam:PassedToService): Create/UpdateCrawler, Create/UpdateJob.
        out.append(Statement("PassRoleToGlue", ("iam:PassRole",), (role_reference(pipeline, account),),
                             "crawlers and jobs run as this role",
                             {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}))  # fmt: skip
        return out

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        return []  # the role itself: what it may do is the other kinds' (and the log groups, access_policy)

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        name = pipeline.role.managed_name
        if name is None:
            return []
        attrs = fields.desired(
            FIELDS, pipeline.role,
            path=role_path(pipeline),
            description=f"Glue crawler and job role of pipeline {pipeline.name}",
            trust_policy=normalise_policy(trust_policy()),
            access_policy=normalise_policy(access_policy(pipeline, account)),
        )  # fmt: skip
        return [Desired(self.kind, name, attrs, desired_tags(pipeline))]

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        try:
            role = ctx.call("iam", "get_role", RoleName=name)["Role"]
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("reading", f"IAM role {name!r}", exc) from exc
        try:
            inline = ctx.call("iam", "get_role_policy", RoleName=name, PolicyName=INLINE_POLICY)["PolicyDocument"]
            access = parse_policy_document(inline)
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("reading", f"IAM role policy of {name!r}", exc) from exc
            access = None
        attrs: Attrs = {**fields.flatten(FIELDS, role), "access_policy": access}
        tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        return Observed(attrs, tags, elsewhere=serves_elsewhere(name, policy_region(access), ctx.region))

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        names: list[str] = []
        for page in ctx.pages("iam", "list_roles", PathPrefix=role_path(pipeline)):
            names.extend(r["RoleName"] for r in page.get("Roles", []))
        owned = []
        for name in sorted(names):
            observed = self.read(ctx, name, pipeline)
            # a role serving this pipeline in another region is that region's to keep or delete
            if observed is not None and observed.owner() == pipeline.name and observed.elsewhere is None:
                owned.append(name)
        return owned

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        a = desired.attrs
        try:
            ctx.call(
                "iam", "create_role", RoleName=desired.name, **fields.expand(FIELDS, a),
                Tags=[{"Key": k, "Value": v} for k, v in sorted(desired.tags.items())],
            )  # fmt: skip
        except AwsApiError as exc:
            raise aws_error("creating", f"IAM role {desired.name!r}", exc) from exc
        self._put_access(ctx, desired)

    def _put_access(self, ctx: AwsContext, desired: Desired) -> None:
        ctx.call(
            "iam", "put_role_policy", RoleName=desired.name, PolicyName=INLINE_POLICY,
            PolicyDocument=json.dumps(desired.attrs["access_policy"]),
        )  # fmt: skip

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        changed = {c.top for c in changes}
        if "trust_policy" in changed:
            ctx.call(
                "iam", "update_assume_role_policy", RoleName=desired.name,
                PolicyDocument=json.dumps(desired.attrs["trust_policy"]),
            )  # fmt: skip
        if "access_policy" in changed:
            self._put_access(ctx, desired)
        if "description" in changed:
            ctx.call("iam", "update_role", RoleName=desired.name, Description=desired.attrs["description"])
        if "tags" in changed:
            role = ctx.call("iam", "get_role", RoleName=desired.name)["Role"]  # before TagRole rewrites KEYS_TAG
            removed = tags_to_remove({t["Key"]: t["Value"] for t in role.get("Tags", [])}, desired.tags)
            ctx.call(
                "iam", "tag_role", RoleName=desired.name,
                Tags=[{"Key": k, "Value": v} for k, v in sorted(desired.tags.items())],
            )  # fmt: skip
            if removed:
                ctx.call("iam", "untag_role", RoleName=desired.name, TagKeys=removed)

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            for policy in ctx.call("iam", "list_role_policies", RoleName=name).get("PolicyNames", []):
                ctx.call("iam", "delete_role_policy", RoleName=name, PolicyName=policy)
            attached = ctx.call("iam", "list_attached_role_policies", RoleName=name).get("AttachedPolicies", [])
            for policy in attached:
                ctx.call("iam", "detach_role_policy", RoleName=name, PolicyArn=policy["PolicyArn"])
            ctx.call("iam", "delete_role", RoleName=name)
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"IAM role {name!r}", exc) from exc
