"""S3 bucket: versioning, default encryption, Block Public Access, ownership, TLS-only policy, tags.

Secure by default: every bucket gets encryption, all four Block Public Access settings,
BucketOwnerEnforced ownership and a policy denying requests without TLS, whether or not the spec
mentions them.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, ClassVar

from reconciler.aws import wait
from reconciler.aws.context import AwsContext
from reconciler.aws.retry import error_code, while_bucket_is_new
from reconciler.errors import AwsApiError, AwsError
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
    delete_objects_checked,
    desired_tags,
    is_not_found,
    tagged_as_ours,
    tags_to_remove,
)
from reconciler.resources.bucket_policy import normalise_policy, tls_only_policy
from reconciler.resources.bucket_settings import (
    LIFECYCLE_ID,
    LIFECYCLE_POLL_SECONDS,
    LIFECYCLE_STEADY_READS,
    LIFECYCLE_STEADY_TIMEOUT,
    encryption_attrs,
    expand_encryption,
    expand_rule,
    flatten_encryption,
    flatten_rules,
    lifecycle_rules,
    tag_set_dict,
)
from reconciler.resources.fields import Field
from reconciler.resources.guards import flags_guard, leaving_guard, policy_document, removal_guard
from reconciler.spec import (
    model,  # the keys themselves are stated once there
)
from reconciler.spec.model import Pipeline

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


#: Every attribute of a bucket, stated once. S3 has one API call per setting, so no field maps to a single
#: API field: each note names the calls `read` and `_apply_settings` make (Amazon S3 API reference).
#: A setting never made reads as None (S3 answers a NoSuch... error).
FIELDS: tuple[Field, ...] = (
    Field("region", spec="region", immutable=True,
          note="CreateBucket LocationConstraint; read from HeadBucket BucketRegion. A bucket cannot move: no sample"),
    Field("versioning", spec="versioning", default=False, sample=False,
          note="PutBucketVersioning Enabled/Suspended; GetBucketVersioning Status == Enabled"),
    Field("encryption", widens=removal_guard("removes default encryption"), sample={"algorithm": "aws:kms"},
          note="PutBucketEncryption / GetBucketEncryption: {algorithm, kms_key_arn} from spec.bucket.encryption"),
    Field("public_access_block", sample={**PUBLIC_ACCESS_BLOCK, "BlockPublicPolicy": False},
          widens=flags_guard("removes Block Public Access", "turns a Block Public Access setting off"),
          note="PutPublicAccessBlock / GetPublicAccessBlock; always all four on"),
    Field("object_ownership", widens=leaving_guard("BucketOwnerEnforced", "re-enables ACLs ({after})"),
          sample="ObjectWriter",
          note="PutBucketOwnershipControls / GetBucketOwnershipControls; always BucketOwnerEnforced"),
    Field("policy", widens=policy_document,
          note="PutBucketPolicy / GetBucketPolicy, compared parsed (normalise_policy); always TLS-only"),
    Field("lifecycle",
          note="Put/GetBucketLifecycleConfiguration, our rules only (ID reconciler-*; others' rules are kept): "
               "noncurrent versions of our internal keys expire, expired delete markers go; derived, no sample"),
)  # fmt: skip

def bucket_elsewhere(name: str, region: str | None, here: str) -> str | None:
    """Why bucket `name`, tagged as this pipeline's, is not this plan's to change: it is the pipeline's bucket in
    another region (bucket names are global, HeadBucket's BucketRegion says where it lives; S3 API reference,
    HeadBucket). Changing its region means replacing it, data and all: refused, never planned. docs/regions.md."""
    if not region or region == here:
        return None
    return (
        f"is this pipeline's bucket in region {region} (bucket names are global: it cannot serve {here} too); "
        f"give this region its own bucket name in spec.bucket.name"
    )


class BucketKind(ResourceKind):
    kind: ClassVar[str] = "bucket"
    level: ClassVar[int] = 0
    fields: ClassVar[tuple[Field, ...]] = FIELDS
    spec_section: ClassVar[tuple[str, ...] | None] = ("spec", "bucket")
    spec_model: ClassVar[type | None] = model.Bucket
    tagging_type: ClassVar[str | None] = "s3:bucket"
    runs: ClassVar[bool] = False

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        bucket = f"arn:{account.partition}:s3:::{pipeline.bucket.name}"
        out = [
            Statement("PipelineBucket", (
                "s3:CreateBucket", "s3:TagResource", "s3:DeleteBucket", "s3:ListBucket", "s3:ListBucketVersions",
                "s3:ListBucketMultipartUploads", "s3:GetBucketTagging", "s3:PutBucketTagging",
                "s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:GetEncryptionConfiguration",
                "s3:PutEncryptionConfiguration", "s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock",
                "s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls", "s3:GetBucketPolicy",
                "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:GetLifecycleConfiguration",
                "s3:PutLifecycleConfiguration",
            ), (bucket,), "the bucket and its settings; s3:TagResource because CreateBucket carries our tags"),
            Statement("PipelineObjects", (
                "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion",
                "s3:AbortMultipartUpload",
            ), (f"{bucket}/*",),
                "uploads, lock, run history, reports, pointer, manifest; emptying the bucket on destroy"),
        ]  # fmt: skip
        enc = pipeline.bucket.encryption
        if enc.type == "SSE-KMS" and enc.kms_key_arn:
            # Reading and writing SSE-KMS objects (Amazon S3 User Guide, "Using server-side encryption with AWS
            # KMS keys"): kms:GenerateDataKey to write, kms:Decrypt to read. The AWS managed key needs no grant.
            out.append(Statement("BucketKey", ("kms:Decrypt", "kms:GenerateDataKey"), (enc.kms_key_arn,),
                                 "objects encrypted with the bucket's KMS key"))  # fmt: skip
        return out

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        bucket_arn = f"arn:{account.partition}:s3:::{pipeline.bucket.name}"
        out: list[dict[str, Any]] = [
            {"Sid": "ListPipelineBucket", "Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
             "Resource": [bucket_arn]},
            {"Sid": "ReadPipelineObjects", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": [f"{bucket_arn}/*"]},
        ]  # fmt: skip
        key = pipeline.bucket.encryption.kms_key_arn if pipeline.bucket.encryption.type == "SSE-KMS" else None
        if key:
            # Reading SSE-KMS objects needs kms:Decrypt and writing them kms:GenerateDataKey on the bucket's key
            # (Amazon S3 User Guide, "Using server-side encryption with AWS KMS keys", permissions). With the
            # AWS managed key aws/s3 (no key ARN in the spec) its key policy already allows use through S3.
            out.append({"Sid": "BucketKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                        "Resource": [key]})  # fmt: skip
        return out

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        b = pipeline.bucket
        attrs = fields.desired(
            FIELDS, b,
            region=pipeline.region,
            encryption=encryption_attrs(b.encryption),
            public_access_block=dict(PUBLIC_ACCESS_BLOCK),
            object_ownership="BucketOwnerEnforced",
            policy=normalise_policy(tls_only_policy(b.name, account.partition)) if account.tls_only else None,
            lifecycle=lifecycle_rules(pipeline),
        )  # fmt: skip
        return [Desired(self.kind, b.name, attrs, desired_tags(pipeline))]

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        """The bucket's settings, or None when HeadBucket says it does not exist. A configuration read that
        answers NoSuchBucket after HeadBucket found the bucket means the bucket is moments old (S3's new-bucket
        window, aws/retry.py while_bucket_is_new; terraform-provider-aws internal/service/s3/bucket.go retries
        its reads after CreateBucket too): the whole read is made again, bounded, never taken as "not set"
        (which would plan a conflict or a wrong diff against a bucket another apply just created)."""
        return while_bucket_is_new(lambda: self._read(ctx, name))

    def _read(self, ctx: AwsContext, name: str) -> Observed | None:
        try:
            head = ctx.call("s3", "head_bucket", Bucket=name)
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            if error_code(exc) in {"403", "AccessDenied"}:
                raise AwsError(
                    f"bucket {name!r} exists but belongs to another account (or we may not read it)",
                    hint="bucket names are global: choose another name in spec.bucket.name",
                ) from exc
            raise aws_error("reading", f"bucket {name!r}", exc) from exc
        region = head.get("BucketRegion") or head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region")
        versioning = ctx.call("s3", "get_bucket_versioning", Bucket=name).get("Status") == "Enabled"
        attrs: Attrs = {"region": region or ctx.region, "versioning": versioning}
        attrs["encryption"] = self._optional(
            ctx,
            "get_bucket_encryption",
            name,
            lambda r: flatten_encryption(r["ServerSideEncryptionConfiguration"]),
        )
        attrs["public_access_block"] = self._optional(
            ctx, "get_public_access_block", name, lambda r: dict(r["PublicAccessBlockConfiguration"])
        )
        attrs["object_ownership"] = self._optional(
            ctx, "get_bucket_ownership_controls", name,
            lambda r: r["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        )  # fmt: skip
        attrs["policy"] = self._optional(ctx, "get_bucket_policy", name, lambda r: normalise_policy(r["Policy"]))
        attrs["lifecycle"] = self._optional(
            ctx, "get_bucket_lifecycle_configuration", name, lambda r: flatten_rules(r.get("Rules", []))
        )
        tags = self._optional(ctx, "get_bucket_tagging", name, lambda r: tag_set_dict(r["TagSet"]))
        return Observed(attrs, tags or {}, elsewhere=bucket_elsewhere(name, attrs["region"], ctx.region))

    @staticmethod
    def _optional(ctx: AwsContext, op: str, bucket: str, pick: Any) -> Any:
        """S3 answers a 404-style error for a configuration that was never set: that means None."""
        try:
            return pick(ctx.call("s3", op, Bucket=bucket))
        except AwsApiError as exc:
            code = error_code(exc)
            if code == "NoSuchBucket":
                raise  # the bucket, not the setting, is missing: read() decides (the new-bucket window)
            if code.startswith("NoSuch") or code.endswith("NotFoundError") or code in {"NoSuchTagSet"}:
                return None
            raise aws_error("reading", f"bucket {bucket!r} ({op})", exc) from exc

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        """The declared bucket and those the Tagging API lists under our owner tag, each confirmed by its own
        GetBucketTagging: never ListBuckets plus a tag read per bucket of the account."""
        owned = []
        for name in sorted({pipeline.bucket.name, *tagged_as_ours(ctx, pipeline, "s3:bucket")}):
            try:
                tag_set = ctx.call("s3", "get_bucket_tagging", Bucket=name)["TagSet"]
            except AwsApiError as exc:
                if is_not_found(exc) or error_code(exc) == "NoSuchTagSet":
                    continue  # gone, or untagged: not ours
                raise aws_error("reading", f"bucket {name!r} (get_bucket_tagging)", exc) from exc
            tags = tag_set_dict(tag_set)
            if Observed({}, tags).owner() == pipeline.name and not self._in_other_region(ctx, name, pipeline):
                owned.append(name)
        return owned

    @staticmethod
    def _in_other_region(ctx: AwsContext, name: str, pipeline: Pipeline) -> bool:
        """An undeclared bucket of ours in another region is the pipeline's bucket *there* (the same spec applied
        in two regions): never this region's to delete. The declared bucket's region is read() business."""
        if name == pipeline.bucket.name:
            return False
        try:
            head = ctx.call("s3", "head_bucket", Bucket=name)
        except AwsApiError as exc:
            if is_not_found(exc):
                return False
            raise aws_error("reading", f"bucket {name!r}", exc) from exc
        region = head.get("BucketRegion") or head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region")
        return bool(region) and region != ctx.region

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        # Tags at creation make "created but not yet ours" impossible, even if we die right after.
        config: dict[str, Any] = {"Tags": [{"Key": k, "Value": v} for k, v in sorted(desired.tags.items())]}
        # us-east-1 takes no LocationConstraint; every other region needs it.
        if pipeline.region != "us-east-1":
            config["LocationConstraint"] = pipeline.region
        kwargs: dict[str, Any] = {"Bucket": desired.name, "CreateBucketConfiguration": config}
        try:
            ctx.call("s3", "create_bucket", **kwargs)
        except AwsApiError as exc:
            # A crashed earlier apply may have created it: ours to finish configuring.
            if error_code(exc) != "BucketAlreadyOwnedByYou":
                raise aws_error("creating", f"S3 bucket {desired.name!r}", exc) from exc
        # Tag first, so a crash right after still leaves a bucket we recognise as ours. Right after
        # CreateBucket these calls can answer NoSuchBucket for a while (the new-bucket window,
        # aws/retry.py while_bucket_is_new; terraform-provider-aws internal/service/s3/bucket.go): every
        # step replaces what it sets, so the sequence is repeated until the bucket is visible, bounded.
        def configure() -> None:
            self._put_tags(ctx, desired)
            self._apply_settings(ctx, desired, set(desired.attrs))

        while_bucket_is_new(configure)

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        changed = {c.top for c in changes}
        if "tags" in changed:
            self._put_tags(ctx, desired)
        self._apply_settings(ctx, desired, changed)

    def _put_tags(self, ctx: AwsContext, desired: Desired) -> None:
        # PutBucketTagging replaces the whole tag set (S3 API reference, PutBucketTagging): keep the tags others
        # added, drop only the keys we recorded (KEYS_TAG) and no longer declare.
        current = (
            self._optional(
                ctx, "get_bucket_tagging", desired.name, lambda r: tag_set_dict(r["TagSet"])
            )
            or {}
        )
        removed = set(tags_to_remove(current, desired.tags))
        merged = {k: v for k, v in current.items() if k not in removed and not k.startswith("aws:")}
        merged |= dict(desired.tags)
        tag_set = [{"Key": k, "Value": v} for k, v in sorted(merged.items())]
        ctx.call("s3", "put_bucket_tagging", Bucket=desired.name, Tagging={"TagSet": tag_set})

    def _apply_settings(self, ctx: AwsContext, desired: Desired, changed: set[str]) -> None:
        name, a = desired.name, desired.attrs
        if "object_ownership" in changed:
            ctx.call(
                "s3", "put_bucket_ownership_controls", Bucket=name,
                OwnershipControls={"Rules": [{"ObjectOwnership": a["object_ownership"]}]},
            )  # fmt: skip
        if "public_access_block" in changed:
            ctx.call(
                "s3",
                "put_public_access_block",
                Bucket=name,
                PublicAccessBlockConfiguration=a["public_access_block"],
            )
        if "encryption" in changed:
            ctx.call(
                "s3", "put_bucket_encryption", Bucket=name,
                ServerSideEncryptionConfiguration=expand_encryption(a["encryption"]),
            )  # fmt: skip
        if "versioning" in changed:
            status = "Enabled" if a["versioning"] else "Suspended"
            ctx.call("s3", "put_bucket_versioning", Bucket=name, VersioningConfiguration={"Status": status})
        if "lifecycle" in changed:
            # PutBucketLifecycleConfiguration replaces the whole configuration: keep others' rules, and the
            # bucket's TransitionDefaultMinimumObjectSize as found (omitted, S3 sets its default,
            # all_storage_classes_128K: S3 API reference, PutBucketLifecycleConfiguration).
            found = self._optional(ctx, "get_bucket_lifecycle_configuration", name, lambda r: r)
            current = (found or {}).get("Rules", [])
            theirs = [r for r in current or [] if not str(r.get("ID", "")).startswith(LIFECYCLE_ID)]
            extra = {}
            if (found or {}).get("TransitionDefaultMinimumObjectSize"):
                extra["TransitionDefaultMinimumObjectSize"] = found["TransitionDefaultMinimumObjectSize"]
            ctx.call(
                "s3", "put_bucket_lifecycle_configuration", Bucket=name,
                LifecycleConfiguration={"Rules": theirs + [expand_rule(r) for r in a["lifecycle"]]}, **extra,
            )  # fmt: skip
            self._wait_for_lifecycle(ctx, name, a["lifecycle"])
        if "policy" in changed and a["policy"] is not None:
            ctx.call("s3", "put_bucket_policy", Bucket=name, Policy=json.dumps(a["policy"]))
        elif "policy" in changed:  # no policy wanted (plain http): DeleteBucketPolicy answers 204 when none is set
            ctx.call("s3", "delete_bucket_policy", Bucket=name)

    def _wait_for_lifecycle(self, ctx: AwsContext, name: str, wanted: list[dict[str, Any]]) -> None:
        """Re-read the lifecycle configuration until it shows our rules on LIFECYCLE_STEADY_READS reads in a row,
        for at most LIFECYCLE_STEADY_TIMEOUT seconds: S3 propagates a new configuration with a lag, so a plan
        straight after the apply could otherwise see the old rules (terraform-provider-aws
        internal/service/s3/bucket_lifecycle_configuration.go: lifecycleConfigurationRulesSteadyTimeout, 2
        minutes). Still not steady: a warning-free return; the next plan shows what S3 answers then."""

        def status() -> tuple[None, str]:
            rules = self._optional(ctx, "get_bucket_lifecycle_configuration", name,
                                   lambda r: flatten_rules(r.get("Rules", [])))  # fmt: skip
            return None, "steady" if (rules or []) == (wanted or []) else "pending"

        with contextlib.suppress(wait.WaitTimeout):
            wait.until(status, pending={"pending"}, target={"steady"}, timeout=LIFECYCLE_STEADY_TIMEOUT,
                       poll=wait.every(LIFECYCLE_POLL_SECONDS), continuous_target=LIFECYCLE_STEADY_READS)  # fmt: skip

    def count_objects(self, ctx: AwsContext, name: str, *, limit: int = 100_000) -> int:
        """Objects plus old versions and delete markers: what a delete would lose."""
        total = 0
        for page in ctx.pages("s3", "list_object_versions", Bucket=name):
            entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
            # Our own lock object is not user data.
            total += sum(1 for e in entries if not e["Key"].startswith(".reconciler/"))
            if total >= limit:
                break
        return total

    def blocked_delete_reason(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> str | None:
        if force or (pipeline.bucket.name == name and pipeline.bucket.force_destroy):
            return None
        try:
            count = self.count_objects(ctx, name)
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("listing", f"bucket {name!r}", exc) from exc
        if count == 0:
            return None
        return (
            f"bucket {name!r} still holds {count} object(s) or versions; "
            "set spec.bucket.force_destroy: true or pass --force to delete them"
        )

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        reason = self.blocked_delete_reason(ctx, name, pipeline, force=force)
        if reason:
            raise AwsError(f"refusing to delete: {reason}")
        try:
            for page in ctx.pages("s3", "list_multipart_uploads", Bucket=name):  # paginated: 1,000 per page
                for upload in page.get("Uploads", []):
                    ctx.call(
                        "s3", "abort_multipart_upload", Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
            for page in ctx.pages("s3", "list_object_versions", Bucket=name):
                batch = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                delete_objects_checked(ctx, name, batch)
            ctx.call("s3", "delete_bucket", Bucket=name)
        except AwsApiError as exc:
            if is_not_found(exc):
                return
            raise aws_error("deleting", f"S3 bucket {name!r}", exc) from exc
