"""The storage checks of a spec: the job's S3 paths by role (outputs inside the bucket, clear of the tool's own
keys and of the uploads; inputs and code in it or allowed), crawler targets clear of the tool's own keys, and
the bucket itself (its name, SSE-S3 or SSE-KMS with a key ARN). The uploads: spec/upload_checks.py.

Like every check (spec/checks.py), they work on the interpolated document and return `Finding`s."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from reconciler.spec import arguments, reserved, rules
from reconciler.spec.findings import DocPath, Finding, as_mapping, describe, items_of, located, text_at
from reconciler.spec.upload_checks import UploadIndex

# --- job arguments by role (spec/arguments.py), the allow-list and the reserved keys ------------------------


def _s3_parts(uri: str) -> tuple[str, str] | None:
    """(bucket, key) of s3://bucket/key, None when it is no S3 URI."""
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


@dataclass
class Outputs:
    """The job output prefixes (keys in the pipeline's bucket) that passed their own checks."""

    by_argument: dict[DocPath, str]

    @property
    def prefixes(self) -> list[str]:
        return sorted(set(self.by_argument.values()))


def _job_arguments(spec: dict[str, Any]) -> Iterator[tuple[DocPath, str, str]]:
    for i, job in items_of(spec.get("jobs")):
        for name, value in as_mapping(job.get("arguments")).items():
            if isinstance(name, str) and isinstance(value, str):
                yield ("spec", "jobs", i, "arguments", name), name, value


def _output_shape_problems(value: str, bucket: str | None) -> tuple[str | None, list[str]]:
    """(key prefix, problems) of an output path; the prefix is None unless it passed."""
    parts = _s3_parts(value)
    if parts is None:
        return None, [f"is an output path (the job writes there) and must be an S3 URI like s3://<bucket>/<prefix>/ "
                      f"(got {describe(value)})"]  # fmt: skip
    target, key = parts
    if bucket is not None and target != bucket:
        return None, [
            f"is an output path and must lie inside the pipeline's bucket {bucket!r} (got bucket {target!r}): "
            "the job's role may write only there"
        ]
    if key == "":
        return None, ["is an output path and must name a prefix inside the bucket, not the bucket root "
                      f"(the root holds the tool's own keys, {reserved.INTERNAL_PREFIX})"]  # fmt: skip
    if not key.endswith("/"):
        return None, [f"is an output path and must end with '/' (did you mean {value + '/'!r}?)"]
    problems = rules.key_prefix_problems(key)
    return (key, []) if not problems else (None, [f"is an output path whose key {p}" for p in problems])


def collect_outputs(spec: dict[str, Any], bucket: str | None) -> tuple[list[Finding], Outputs]:
    findings: list[Finding] = []
    outputs = Outputs({})
    for path, name, value in _job_arguments(spec):
        if arguments.role_of(name, value) != arguments.OUTPUT:
            continue
        key, problems = _output_shape_problems(value, bucket)
        findings += located(path, problems)
        if key is not None and bucket is not None:
            outputs.by_argument[path] = key
    return findings, outputs


def check_output_overlaps(
    spec: dict[str, Any], outputs: Outputs, keys: reserved.ReservedIndex, uploads: UploadIndex
) -> list[Finding]:
    """An output prefix clear of the tool's own keys (but its own pointer and run prefixes), of every uploaded
    key and directory upload, and so of every job's script."""
    scripts = {s for _, job in items_of(spec.get("jobs")) if (s := text_at(job, "script"))}
    uploaded = sorted(uploads.keys)
    findings: list[Finding] = []
    for path, prefix in outputs.by_argument.items():
        own = {reserved.pointer_key(prefix), reserved.runs_prefix(prefix)}
        for r in keys.overlapping(prefix):
            if r.tool_writes and (r.key not in own or r.kind == "manifest") and r.overlaps_prefix(prefix):
                findings.append(Finding(path, f"overlaps {r.key!r}, {r.why}: the job could overwrite or delete it"))
        for script in sorted(s for s in scripts if s.startswith(prefix)):
            findings.append(Finding(path, f"contains the job script {script!r}: the job could rewrite its own code"))
        below = uploaded[bisect.bisect_left(uploaded, prefix) : bisect.bisect_left(uploaded, prefix + "\U0010ffff")]
        clashing = sorted({uploads.keys[key] for key in below if key not in scripts})
        clashing += [i for i, d in uploads.directories.items() if prefix.startswith(d) and i not in clashing]
        for i in sorted(set(clashing)):
            findings.append(
                Finding(path, f"overlaps the upload spec.uploads[{i}]: the job could overwrite or delete the "
                              "uploaded data, and the upload would not notice (choose a prefix of its own)")
            )  # fmt: skip
    return findings


def _allow_list(spec: dict[str, Any], field_name: str) -> list[str]:
    entries = as_mapping(spec.get("allow")).get(field_name)
    return [e for e in entries if isinstance(e, str)] if isinstance(entries, list) else []


def check_allow(spec: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for field_name in ("external_code", "external_inputs"):
        entries = as_mapping(spec.get("allow")).get(field_name)
        for j, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, str):
                continue
            path: DocPath = ("spec", "allow", field_name, j)
            parts = _s3_parts(entry)
            if parts is None or parts[0] == "":
                findings.append(
                    Finding(path, f"must be an S3 prefix like s3://<bucket>/<prefix>/ (got {describe(entry)})")
                )
                continue
            findings += located(path, [f"bucket {p}" for p in rules.bucket_name_problems(parts[0])])
            if parts[1] != "":
                findings += located(path, [f"key prefix {p}" for p in rules.key_prefix_problems(parts[1])])
    return findings


def _allowed(uri: str, entries: list[str]) -> bool:
    return any(uri.startswith(entry if entry.endswith("/") else entry + "/") for entry in entries)


def check_reads(spec: dict[str, Any], bucket: str | None, outputs: Outputs) -> list[Finding]:
    """Input paths and code locations: in the pipeline's bucket, or explicitly allowed."""
    code_allowed = _allow_list(spec, "external_code")
    inputs_allowed = _allow_list(spec, "external_inputs")
    findings: list[Finding] = []
    for path, name, value in _job_arguments(spec):
        role = arguments.role_of(name, value)
        if role == arguments.INPUT:
            parts = _s3_parts(value)
            if parts is None:
                findings.append(Finding(path, f"is an input path and must be an S3 URI like s3://<bucket>/<prefix>/ "
                                              f"(got {describe(value)})"))  # fmt: skip
            elif bucket is not None and parts[0] != bucket and not _allowed(value, inputs_allowed):
                findings.append(
                    Finding(path, f"reads {describe(value)}, outside the pipeline's bucket {bucket!r}: list its prefix "
                                  "in spec.allow.external_inputs to allow it; the job's role must be able to read it "
                                  "(the managed role is then granted s3:GetObject and s3:ListBucket there)")
                )  # fmt: skip
            else:
                findings += located(path, [f"is an input path that {p}" for p in rules.s3_uri_problems(value, None)])
        elif role == arguments.CODE:
            for location in arguments.locations(name, value):
                findings += _code_location_problems(path, name, location, bucket, outputs, code_allowed)
    return findings


def _code_location_problems(
    path: DocPath, name: str, location: str, bucket: str | None, outputs: Outputs, allowed: list[str]
) -> list[Finding]:
    parts = _s3_parts(location)
    if parts is None:
        return [Finding(path, f"loads code and must name S3 objects like s3://<bucket>/<key> "
                              f"(got {describe(location)})")]  # fmt: skip
    if bucket is not None and parts[0] != bucket:
        if _allowed(location, allowed):
            return []
        return [
            Finding(path, f"loads code from {describe(location)}, outside the pipeline's bucket {bucket!r}: Glue "
                          "runs it with the pipeline's role; list its prefix in spec.allow.external_code to allow it")
        ]  # fmt: skip
    problems = rules.s3_uri_problems(location, None)
    under = [p for p in outputs.prefixes if parts[1].startswith(p)]
    if under:
        problems.append(f"lies under the job output {under[0]!r}: the job could write the code it then loads")
    return [Finding(path, f"{name} location {describe(location)} {p}") for p in problems]


def run_argument_problems(
    bucket: str, spec_arguments: Iterable[tuple[str, str]], run_arguments: Iterable[tuple[str, str]],
    external_code: Iterable[str], external_inputs: Iterable[str],
) -> list[tuple[str, str]]:
    """(argument, message) for every job argument given at run time (`reconcile run --arg`) that the spec could
    not declare either: the same role rules, against the spec's bucket, output prefixes and allow-list. An output
    cannot be given at run time at all: `run` sets the run's own output, and the role writes only the spec's."""
    own = f"s3://{bucket}/"
    outputs = Outputs({("spec", n): v[len(own) :] for n, v in spec_arguments
                        if arguments.role_of(n, v) == arguments.OUTPUT and v.startswith(own) and v != own})  # fmt: skip
    given = dict(run_arguments)
    found = [(name, "is an output path: outputs are declared in the spec (the job's role writes only those), and "
                    "`run` gives each run its own") for name, value in given.items()
             if arguments.role_of(name, value) == arguments.OUTPUT]  # fmt: skip
    doc = {"jobs": [{"arguments": given}],
           "allow": {"external_code": list(external_code), "external_inputs": list(external_inputs)}}  # fmt: skip
    for finding in check_reads(doc, bucket, outputs):
        found.append((str(finding.path[-1]), finding.message))
    return found


def check_crawler_reserved(spec: dict[str, Any], bucket: str | None, keys: reserved.ReservedIndex) -> list[Finding]:
    findings: list[Finding] = []
    for i, crawler in items_of(spec.get("crawlers")):
        targets = crawler.get("targets")
        for t, target in enumerate(targets if isinstance(targets, list) else []):
            parts = _s3_parts(target) if isinstance(target, str) else None
            if parts is None or parts[0] != bucket or rules.s3_uri_problems(target, bucket):
                continue  # reported by _check_crawlers
            for r in keys.overlapping(parts[1]):
                if r.tool_writes and (r.covers(parts[1]) or r.overlaps_prefix(parts[1])):
                    findings.append(
                        Finding(("spec", "crawlers", i, "targets", t),
                                f"crawls {r.key!r}, {r.why}: the crawler would read the tool's own objects as data "
                                "(choose a prefix that does not contain it)")
                    )  # fmt: skip
    return findings


def check_bucket(spec: dict[str, Any], region: str | None) -> list[Finding]:
    bucket = as_mapping(spec.get("bucket"))
    base: DocPath = ("spec", "bucket")
    findings: list[Finding] = []
    name = text_at(bucket, "name")
    if name is not None:
        findings += located((*base, "name"), rules.bucket_name_problems(name))
    encryption = as_mapping(bucket.get("encryption"))
    kind = encryption.get("type", "SSE-S3")
    key_arn = text_at(encryption, "kms_key_arn")
    if kind == "SSE-KMS" and "kms_key_arn" not in encryption:
        findings.append(Finding((*base, "encryption", "kms_key_arn"), "is required with type SSE-KMS"))
    elif kind == "SSE-S3" and "kms_key_arn" in encryption:
        findings.append(Finding((*base, "encryption", "kms_key_arn"), "is only allowed with type SSE-KMS", at_key=True))
    elif key_arn is not None:
        findings += located((*base, "encryption", "kms_key_arn"), rules.kms_key_arn_problems(key_arn, region))
    return findings
