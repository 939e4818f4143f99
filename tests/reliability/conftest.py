"""Fixtures of the reliability tests (fault and crash matrices): the integration `project`, plus a
normalised dump of everything live on the endpoint, to compare two runs' end states."""

from __future__ import annotations

import json
from typing import Any

from ..integration.conftest import BUCKET, Project, project

__all__ = ["BUCKET", "Project", "live_state", "project"]  # project: the integration fixture, shared

# Fields AWS (and moto) fill in per call or per creation: never part of "the same state".
VOLATILE = frozenset({
    "CreationTime", "LastUpdated", "CreatedOn", "LastModifiedOn", "LastCrawl", "Version", "CreateDate",
    "RoleId", "RoleLastUsed", "LastModified", "ETag", "ResponseMetadata", "LastRun", "Id", "CreationDate",
    "VersionId", "UploadId", "Initiated", "CreateTime", "StartedOn", "CompletedOn",
    "UpdateTime", "LastAccessTime", "LastAnalyzedTime",
})  # fmt: skip


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        items = [normalise(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    return value


def _maybe(call: Any, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except Exception as exc:  # absent sub-resources answer errors; their code is the state
        return {"error": getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)}


def live_state(aws: Any) -> dict[str, Any]:
    """Everything on the endpoint that a pipeline can own, normalised (no timestamps, ids, ETags)."""
    s3, iam, glue = aws.client("s3"), aws.client("iam"), aws.client("glue")
    state: dict[str, Any] = {"buckets": {}}
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        objects = {}
        for obj in s3.list_objects_v2(Bucket=name).get("Contents", []):
            head = s3.head_object(Bucket=name, Key=obj["Key"])
            objects[obj["Key"]] = {"size": obj["Size"], "metadata": head.get("Metadata", {})}
        state["buckets"][name] = {
            "objects": objects,
            "uploads": s3.list_multipart_uploads(Bucket=name).get("Uploads", []),
            "tagging": _maybe(s3.get_bucket_tagging, Bucket=name),
            "encryption": _maybe(s3.get_bucket_encryption, Bucket=name),
            "versioning": _maybe(s3.get_bucket_versioning, Bucket=name),
            "public_access": _maybe(s3.get_public_access_block, Bucket=name),
            "ownership": _maybe(s3.get_bucket_ownership_controls, Bucket=name),
            "policy": _maybe(s3.get_bucket_policy, Bucket=name),
        }
    state["roles"] = {}
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        state["roles"][name] = {
            "role": iam.get_role(RoleName=name)["Role"],
            "inline": {p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                       for p in iam.list_role_policies(RoleName=name)["PolicyNames"]},
            "attached": iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"],
            "tags": iam.list_role_tags(RoleName=name)["Tags"],
        }  # fmt: skip
    state["databases"] = glue.get_databases()["DatabaseList"]
    state["tables"] = {d["Name"]: glue.get_tables(DatabaseName=d["Name"])["TableList"] for d in state["databases"]}
    state["crawlers"] = glue.get_crawlers()["Crawlers"]
    state["jobs"] = glue.get_jobs()["Jobs"]
    state["triggers"] = glue.get_triggers()["Triggers"]
    state["workflows"] = [glue.get_workflow(Name=n)["Workflow"] for n in glue.list_workflows()["Workflows"]]
    state["job_runs"] = {j["Name"]: len(glue.get_job_runs(JobName=j["Name"])["JobRuns"]) for j in state["jobs"]}
    dump: dict[str, Any] = normalise(state)
    return dump
