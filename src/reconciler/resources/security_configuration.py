"""Glue security configuration: how the crawlers and jobs that name it (CrawlerSecurityConfiguration, Job
SecurityConfiguration) encrypt what they write to S3, their CloudWatch logs and their job bookmarks.

Glue cannot change one: the Security APIs are CreateSecurityConfiguration, GetSecurityConfiguration(s) and
DeleteSecurityConfiguration only (AWS Glue API reference, "Security APIs"; botocore glue model), and
terraform-provider-aws marks every argument of aws_glue_security_configuration ForceNew
(internal/service/glue/security_configuration.go). So every attribute is immutable: a change is a replace.

It takes no tags (CreateSecurityConfiguration has no Tags parameter; botocore glue model), so ownership
cannot be read from it: the pipeline owns the one its spec names (read reports our ownership tags, as for
uploads), and one renamed or removed from the spec is left in place (list_owned can only find the declared
name; docs/adding-a-kind.md).
"""

from __future__ import annotations

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
    is_not_found,
)
from reconciler.resources.fields import Field
from reconciler.spec import model
from reconciler.spec.model import Pipeline, SecurityConfiguration
from reconciler.spec.security_configuration_checks import KMS_MODES

#: EncryptionConfiguration member -> the name of its mode field (botocore glue model: S3Encryption is a list
#: of {S3EncryptionMode, KmsKeyArn}; CloudWatchEncryption {CloudWatchEncryptionMode, KmsKeyArn};
#: JobBookmarksEncryption {JobBookmarksEncryptionMode, KmsKeyArn})
MODE_KEYS = {
    "S3Encryption": "S3EncryptionMode",
    "CloudWatchEncryption": "CloudWatchEncryptionMode",
    "JobBookmarksEncryption": "JobBookmarksEncryptionMode",
}
#: what a target reads as when GetSecurityConfiguration leaves it out: not encrypted (the modes' DISABLED)
DISABLED = {"mode": "DISABLED", "kms_key_arn": None}


def _writer(member: str) -> Any:
    def write(value: dict[str, Any]) -> Any:
        out = {MODE_KEYS[member]: value["mode"]}
        if value["kms_key_arn"]:
            out["KmsKeyArn"] = value["kms_key_arn"]
        return [out] if member == "S3Encryption" else out

    return write


def _reader(member: str) -> Any:
    def read(raw: Any) -> dict[str, Any]:
        item = (raw[0] if raw else {}) if isinstance(raw, list) else raw
        return {"mode": str(item.get(MODE_KEYS[member]) or "DISABLED"), "kms_key_arn": item.get("KmsKeyArn") or None}

    return read


def _field(name: str, member: str, spec_key: str) -> Field:
    return Field(
        name, f"EncryptionConfiguration.{member}", write=_writer(member), read=_reader(member), default=DISABLED,
        immutable=True, security=True,
        note=f"{{mode, kms_key_arn}}: spec.security_configuration.{spec_key} and its kms_key_arn (for a KMS mode)",
    )  # fmt: skip


#: Every attribute of a security configuration, stated once (botocore glue model: EncryptionConfiguration).
FIELDS: tuple[Field, ...] = (
    _field("s3_encryption", "S3Encryption", "s3_encryption"),
    _field("cloudwatch_encryption", "CloudWatchEncryption", "cloudwatch_encryption"),
    _field("job_bookmarks_encryption", "JobBookmarksEncryption", "job_bookmarks_encryption"),
)


def target(mode: str, config: SecurityConfiguration) -> dict[str, Any]:
    return {"mode": mode, "kms_key_arn": config.kms_key_arn if mode in KMS_MODES else None}


def name_of(pipeline: Pipeline) -> str:
    """What the crawlers and jobs name as their security configuration: "" for none."""
    return pipeline.security_configuration.name if pipeline.security_configuration is not None else ""


class SecurityConfigurationKind(ResourceKind):
    kind: ClassVar[str] = "security_configuration"
    level: ClassVar[int] = 1  # before the crawlers and jobs that name it (deleted after them)
    fields: ClassVar[tuple[Field, ...]] = FIELDS
    spec_section: ClassVar[tuple[str, ...] | None] = ("spec", "security_configuration")
    spec_model: ClassVar[type | None] = model.SecurityConfiguration
    tagging_type: ClassVar[str | None] = None  # takes no tags
    runs: ClassVar[bool] = False

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        config = pipeline.security_configuration
        if config is None:
            return []
        attrs = fields.desired(
            FIELDS, config,
            s3_encryption=target(config.s3_encryption, config),
            cloudwatch_encryption=target(config.cloudwatch_encryption, config),
            job_bookmarks_encryption=target(config.job_bookmarks_encryption, config),
        )  # fmt: skip
        return [Desired(self.kind, config.name, attrs)]

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        try:
            found = ctx.call("glue", "get_security_configuration", Name=name)["SecurityConfiguration"]
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("reading", f"Glue security configuration {name!r}", exc) from exc
        attrs: Attrs = fields.flatten(FIELDS, found)
        return Observed(attrs, pipeline.ownership_tags)  # no tags: the declared one is ours (module docstring)

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        """The declared configuration, when it exists (so destroy deletes it); none other can be known as ours."""
        name = name_of(pipeline)
        return [name] if name and self.read(ctx, name, pipeline) is not None else []

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        try:
            ctx.call("glue", "create_security_configuration", Name=desired.name, **fields.expand(FIELDS, desired.attrs))
        except AwsApiError as exc:
            raise aws_error("creating", f"Glue security configuration {desired.name!r}", exc) from exc

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        # Every attribute is immutable (a change is planned as replace) and there are no tags to sync.
        raise AssertionError(f"security configuration {desired.name!r} cannot be updated: {changes}")

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            ctx.call("glue", "delete_security_configuration", Name=name)
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"Glue security configuration {name!r}", exc) from exc

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        if pipeline.security_configuration is None:
            return []
        # The Security APIs have no resource type and no condition key (Service Authorization Reference, "Actions
        # defined by AWS Glue": CreateSecurityConfiguration, GetSecurityConfiguration and
        # DeleteSecurityConfiguration): only "*" matches, and nothing narrows it.
        out = [Statement("SecurityConfiguration", (
            "glue:CreateSecurityConfiguration", "glue:GetSecurityConfiguration", "glue:DeleteSecurityConfiguration",
        ), ("*",), "the Glue security configuration the crawlers and jobs run with (no resource type)")]  # fmt: skip
        config = pipeline.security_configuration
        if config.s3_encryption in KMS_MODES and config.kms_key_arn:
            # The jobs write their outputs SSE-KMS with this key, and `run` reads them (the gate, publish):
            # reading an SSE-KMS object needs kms:Decrypt on its key (Amazon S3 User Guide, "Using server-side
            # encryption with AWS KMS keys").
            out.append(Statement("SecurityConfigurationKey", ("kms:Decrypt",), (config.kms_key_arn,),
                                 "reading what the jobs wrote with the security configuration's key"))  # fmt: skip
        return out

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        config = pipeline.security_configuration
        if config is None or config.kms_key_arn is None:
            return []
        # A crawler or job run with a security configuration encrypts with its key as the role: the role needs
        # kms:Encrypt, kms:Decrypt and kms:GenerateDataKey on it, and for CloudWatch logs encryption
        # logs:AssociateKmsKey on the Glue log groups (AWS Glue Developer Guide, "Setting up encryption in AWS
        # Glue": the role's policy, with the log groups as arn:aws:logs:<region>:<account>:log-group:/aws-glue/*).
        out: list[dict[str, Any]] = [{
            "Sid": "SecurityConfigurationKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": [config.kms_key_arn],
        }]  # fmt: skip
        if config.cloudwatch_encryption in KMS_MODES:
            out.append({
                "Sid": "SecurityConfigurationLogs",
                "Effect": "Allow",
                "Action": ["logs:AssociateKmsKey"],
                "Resource": [account.arn("logs", "log-group:/aws-glue/*")],
            })  # fmt: skip
        return out
