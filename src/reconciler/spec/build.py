"""The typed model of a validated spec: `model.Pipeline` from the document, its schema defaults filled in.

The one place where spec models are built (load.py validates, then calls `build`); the checks never build one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.spec import model
from reconciler.spec.notify_checks import url_envs
from reconciler.spec.quicksight_checks import DEFAULT_COLUMNS
from reconciler.spec.upload_checks import resolve_local

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["build", "dataset_model", "notify_model"]


def build(value: dict[str, Any], spec_file: Path, project_dir: Path, digest: str) -> model.Pipeline:
    """The validated document, its schema defaults filled in (fill_defaults), as `model.Pipeline`. No default
    is restated here: an optional field without a schema default (e.g. a job's timeout_minutes, whose AWS
    default depends on the Glue version: resources/job.py FIELDS) stays None."""
    metadata = value["metadata"]
    spec = value["spec"]
    bucket = spec["bucket"]
    encryption = bucket["encryption"]
    role = spec["role"]
    database = spec["database"]
    uploads = tuple(
        model.Upload(
            source=resolve_local(upload["source"], project_dir),
            source_text=upload["source"],
            prefix=upload["prefix"],
            is_dir=resolve_local(upload["source"], project_dir).is_dir(),
            allow_outside_project=upload["allow_outside_project"],
            prune=upload["prune"],
        )
        for upload in spec["uploads"]
    )
    crawlers = tuple(
        _record(
            model.Crawler,
            crawler,
            targets=tuple(crawler["targets"]),
            schema_change_policy=_record(model.SchemaChangePolicy, crawler["schema_change_policy"]),
        )
        for crawler in spec["crawlers"]
    )
    jobs = tuple(_record(model.Job, job, arguments=tuple(sorted(job["arguments"].items()))) for job in spec["jobs"])
    schedule = None
    if "schedule" in spec:
        raw_schedule = spec["schedule"]
        schedule = model.Schedule(
            workflow=raw_schedule["workflow"],
            cron=raw_schedule["cron"],
            crawler=raw_schedule["crawler"],
            job=raw_schedule["job"],
            enabled=raw_schedule["enabled"],
            in_aws=raw_schedule["in_aws"],
            quarter=raw_schedule["quarter"],
        )
    manifest = None
    raw_manifest = spec.get("quicksight", {}).get("manifest")
    if raw_manifest is not None:
        data_format = raw_manifest["format"]
        manifest = model.Manifest(
            template=resolve_local(raw_manifest["template"], project_dir),
            output=resolve_local(raw_manifest["output"], project_dir),
            key=raw_manifest["key"],
            data_prefix=raw_manifest["data_prefix"],
            format=data_format,
            # The one default that depends on another field, so the schema can only describe it.
            delimiter=raw_manifest.get("delimiter", "\t" if data_format == "TSV" else ","),
            contains_header=raw_manifest["contains_header"],
        )
    return model.Pipeline(
        name=metadata["name"],
        region=metadata["region"],
        tags=tuple(sorted(metadata["tags"].items())),
        bucket=model.Bucket(
            name=bucket["name"],
            versioning=bucket["versioning"],
            encryption=model.Encryption(type=encryption["type"], kms_key_arn=encryption.get("kms_key_arn")),
            force_destroy=bucket["force_destroy"],
        ),
        uploads=uploads,
        role=model.Role(arn=role.get("arn"), managed_name=role.get("managed", {}).get("name")),
        database=model.Database(name=database["name"], description=database["description"]),
        crawlers=crawlers,
        jobs=jobs,
        schedule=schedule,
        quicksight=model.QuickSight(
            manifest=manifest, dataset=dataset_model(spec.get("quicksight", {}).get("dataset"))
        ),
        spec_file=spec_file,
        spec_sha256=digest,
        quality=_quality(spec.get("quality", {})),
        publish=model.Publish(keep_quarters=spec["publish"]["keep_quarters"]),
        allow=model.Allow(
            external_code=tuple(spec["allow"]["external_code"]),
            external_inputs=tuple(spec["allow"]["external_inputs"]),
        ),
        notify=notify_model(spec.get("notify")),
        security_configuration=(
            _record(model.SecurityConfiguration, spec["security_configuration"])
            if "security_configuration" in spec else None
        ),
    )


_Record = TypeVar("_Record", bound="DataclassInstance")


def _record(cls: type[_Record], raw: Mapping[str, Any], **converted: Any) -> _Record:
    """A model dataclass from its spec mapping: the model's field names are the spec's keys, so every key
    present is taken as it is (validated, defaults filled in) unless `converted` gives its value; an absent
    key leaves the model's own "absent" (None)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in raw.items() if k in names and k not in converted}, **converted)


def _quality(raw: dict[str, Any]) -> model.Quality:
    """An absent rule is not checked (None, or nothing required)."""
    return model.Quality(
        min_rows_read=raw.get("min_rows_read"),
        max_quarantine_share=raw.get("max_quarantine_share"),
        max_duplicate_share=raw.get("max_duplicate_share"),
        required_brands=tuple(raw.get("required_brands", ())),
        covers_quarter=raw.get("covers_quarter", False),
        max_brand_share_change=raw.get("max_brand_share_change"),
    )


def notify_model(raw: Mapping[str, Any] | None) -> model.Notify | None:
    """The validated spec.notify (schema defaults filled in) as `model.Notify`; None when absent."""
    if raw is None:
        return None
    slow_after = raw.get("slow_after_minutes")
    return model.Notify(
        webhooks=tuple(model.Webhook(url_env=name) for _, name in url_envs(raw)),
        sns_topic_arn=raw.get("sns_topic_arn"),
        events=tuple(raw["events"]),
        slow_after_minutes=None if slow_after is None else float(slow_after),
        managed_topic=_managed_topic(raw.get("sns_topic")),
    )


def _managed_topic(raw: Any) -> model.ManagedTopic | None:
    managed = raw.get("managed") if isinstance(raw, dict) else None
    if not isinstance(managed, dict):
        return None
    return model.ManagedTopic(name=managed["name"], display_name=managed["display_name"])


def dataset_model(raw: Any) -> model.QuickSightDataset | None:
    if not isinstance(raw, dict):
        return None
    columns = tuple((str(c["name"]), str(c["type"])) for c in raw.get("columns") or []) or DEFAULT_COLUMNS
    principals = tuple(sorted((str(p["arn"]), str(p.get("access", "viewer"))) for p in raw.get("principals") or []))
    return model.QuickSightDataset(
        data_source=str(raw["data_source"]), data_set=str(raw["data_set"]), columns=columns, principals=principals
    )
