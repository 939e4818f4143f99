"""The validated spec as plain typed objects. No boto3 here: this is what spec.load produces.

Defaults are not restated here: a field with a default takes it from the schema's "default" keyword
(schema/pipeline.v1.json, through `spec_default`), which is also what spec.load fills in. A None default means
"absent" (no value, not a default value)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import Problem
from reconciler.spec.schemas import default_at as spec_default

API_VERSION = "reconciler/v1"
SUPPORTED_API_VERSIONS = (API_VERSION,)

OWNER_TAG = "reconciler:pipeline"
MANAGED_TAG = "reconciler:managed"

#: A field's spec key, when it is not the field's name: a dotted path below the section (`spec_key("managed.name")`),
#: or None for a field spec.load derives (no spec key at all). tests/unit/test_kinds.py compares every model class
#: of a kind's section with the schema through it.
SPEC_KEY = "spec_key"


def spec_key(path: str | None) -> dict[str, str | None]:
    return {SPEC_KEY: path}


@dataclass(frozen=True)
class Encryption:
    type: str = spec_default("spec", "bucket", "encryption", "type")  # SSE-S3 | SSE-KMS
    kms_key_arn: str | None = None


@dataclass(frozen=True)
class Bucket:
    name: str
    versioning: bool = spec_default("spec", "bucket", "versioning")
    encryption: Encryption = field(default_factory=Encryption)
    force_destroy: bool = spec_default("spec", "bucket", "force_destroy")


@dataclass(frozen=True)
class Upload:
    source: Path  # absolute, resolved against the spec file's directory
    source_text: str = field(metadata=spec_key(None))  # as written in the spec, for messages
    prefix: str  # key prefix, "" or ends with "/"
    is_dir: bool = field(metadata=spec_key(None))
    #: the spec allowed source (or symlinks in it) outside the project
    allow_outside_project: bool = spec_default("spec", "uploads", "allow_outside_project")
    #: delete objects under the prefix that the source no longer has (resources/upload.py)
    prune: bool = spec_default("spec", "uploads", "prune")


@dataclass(frozen=True)
class Role:
    arn: str | None = None  # an existing role: we only reference it
    managed_name: str | None = field(default=None, metadata=spec_key("managed.name"))  # a role we create and own

    @property
    def is_managed(self) -> bool:
        return self.managed_name is not None


@dataclass(frozen=True)
class Database:
    name: str
    description: str = spec_default("spec", "database", "description")


@dataclass(frozen=True)
class SchemaChangePolicy:
    update_behavior: str = spec_default("spec", "crawlers", "schema_change_policy", "update_behavior")
    delete_behavior: str = spec_default("spec", "crawlers", "schema_change_policy", "delete_behavior")


@dataclass(frozen=True)
class Crawler:
    name: str
    targets: tuple[str, ...]  # s3:// URIs
    table_prefix: str = spec_default("spec", "crawlers", "table_prefix")
    schedule: str | None = None  # Glue cron; normally the workflow schedules the crawler
    schema_change_policy: SchemaChangePolicy = field(default_factory=SchemaChangePolicy)
    recrawl_policy: str = spec_default("spec", "crawlers", "recrawl_policy")
    description: str = spec_default("spec", "crawlers", "description")


@dataclass(frozen=True)
class Job:
    name: str
    script: str  # object key of the script inside the bucket (must be one of the uploads)
    glue_version: str = spec_default("spec", "jobs", "glue_version")
    worker_type: str = spec_default("spec", "jobs", "worker_type")
    number_of_workers: int = spec_default("spec", "jobs", "number_of_workers")
    #: None: AWS's default, which depends on the Glue version (resources/job.py FIELDS, "timeout")
    timeout_minutes: int | None = None
    max_retries: int = spec_default("spec", "jobs", "max_retries")
    max_concurrent_runs: int = spec_default("spec", "jobs", "max_concurrent_runs")
    arguments: tuple[tuple[str, str], ...] = ()
    description: str = spec_default("spec", "jobs", "description")


@dataclass(frozen=True)
class SecurityConfiguration:
    """spec.security_configuration: the Glue security configuration the crawlers and jobs run with
    (resources/security_configuration.py)."""

    name: str
    s3_encryption: str = spec_default("spec", "security_configuration", "s3_encryption")
    cloudwatch_encryption: str = spec_default("spec", "security_configuration", "cloudwatch_encryption")
    job_bookmarks_encryption: str = spec_default("spec", "security_configuration", "job_bookmarks_encryption")
    #: the key of every KMS mode; None when no mode uses KMS
    kms_key_arn: str | None = None


@dataclass(frozen=True)
class Schedule:
    workflow: str
    cron: str
    crawler: str
    job: str
    enabled: bool = spec_default("spec", "schedule", "enabled")
    #: the workflow's SCHEDULED trigger is the one scheduler (else ON_DEMAND, and `reconcile run` is it)
    in_aws: bool = spec_default("spec", "schedule", "in_aws")
    #: the quarter `reconcile run` processes without --quarter: "previous" (last complete) or "current"
    quarter: str = spec_default("spec", "schedule", "quarter")


@dataclass(frozen=True)
class Manifest:
    template: Path
    output: Path
    key: str  # where the rendered manifest is uploaded in the bucket
    data_prefix: str  # the job's stable CSV prefix QuickSight reads
    delimiter: str  # its default depends on the format ("\t" for TSV, else ","): decided in spec.load
    format: str = spec_default("spec", "quicksight", "manifest", "format")
    contains_header: bool = spec_default("spec", "quicksight", "manifest", "contains_header")


@dataclass(frozen=True)
class QuickSightDataset:
    """spec.quicksight.dataset (resources/quicksight.py, docs/quicksight.md)."""

    data_source: str  # DataSourceId and name
    data_set: str  # DataSetId and name
    columns: tuple[tuple[str, str], ...]  # (name, InputColumn Type), in CSV order
    principals: tuple[tuple[str, str], ...]  # (user or group ARN, "owner" | "viewer"), sorted


@dataclass(frozen=True)
class QuickSight:
    manifest: Manifest | None = None
    dataset: QuickSightDataset | None = None


@dataclass(frozen=True)
class Quality:
    """The quality gate of a run; None means the rule is not checked."""

    min_rows_read: int | None = None
    max_quarantine_share: float | None = None
    max_duplicate_share: float | None = None
    required_brands: tuple[str, ...] = ()
    covers_quarter: bool = False
    max_brand_share_change: float | None = None


@dataclass(frozen=True)
class Publish:
    keep_quarters: int = spec_default("spec", "publish", "keep_quarters")


@dataclass(frozen=True)
class Webhook:
    url_env: str  # the environment variable holding the URL at run time; the URL is never in the spec


@dataclass(frozen=True)
class ManagedTopic:
    """spec.notify.sns_topic.managed: an SNS topic we create and own (resources/topic.py)."""

    name: str
    display_name: str = spec_default("spec", "notify", "sns_topic", "managed", "display_name")


@dataclass(frozen=True)
class Notify:
    """spec.notify: who `reconcile run` tells (quarterly/notify.py)."""

    webhooks: tuple[Webhook, ...] = ()
    sns_topic_arn: str | None = None
    events: tuple[str, ...] = field(default_factory=lambda: tuple(spec_default("spec", "notify", "events")))
    slow_after_minutes: float | None = None
    managed_topic: ManagedTopic | None = None


@dataclass(frozen=True)
class Allow:
    """S3 prefixes outside the pipeline's bucket that job arguments may read code or input from."""

    external_code: tuple[str, ...] = ()
    external_inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pipeline:
    """A whole validated pipeline.yaml."""

    name: str
    region: str
    tags: tuple[tuple[str, str], ...]
    bucket: Bucket
    uploads: tuple[Upload, ...]
    role: Role
    database: Database
    crawlers: tuple[Crawler, ...]
    jobs: tuple[Job, ...]
    schedule: Schedule | None
    quicksight: QuickSight
    spec_file: Path
    spec_sha256: str  # of the interpolated document, for saved plans
    #: what is valid but unwise, located like a problem (a literal secret: spec/literal_secrets.py)
    warnings: tuple[Problem, ...] = ()
    quality: Quality = field(default_factory=Quality)
    publish: Publish = field(default_factory=Publish)
    allow: Allow = field(default_factory=Allow)
    #: None: nobody is told (spec.notify)
    notify: Notify | None = None
    #: None: the crawlers and jobs run without a Glue security configuration
    security_configuration: SecurityConfiguration | None = None

    @property
    def ownership_tags(self) -> dict[str, str]:
        return {OWNER_TAG: self.name, MANAGED_TAG: "true"}

    @property
    def all_tags(self) -> dict[str, str]:
        """User tags plus our ownership tags (ours win)."""
        return {**dict(self.tags), **self.ownership_tags}
