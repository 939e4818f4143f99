"""The storage checks of a spec: uploads (local files, their object keys, the keys the tool reserves), the job's
S3 paths by role (outputs inside the bucket, inputs and code in it or allowed), crawler targets clear of the
tool's own keys, and the bucket itself (its name, SSE-S3 or SSE-KMS with a key ARN).

Like every check (spec/checks.py), they work on the interpolated document and return `Finding`s."""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from reconciler.invocation import generator_command
from reconciler.spec import arguments, reserved, rules
from reconciler.spec.findings import DocPath, Finding, as_mapping, describe, items_of, located, text_at

MAX_LISTED_FILES = 100_000  # a directory upload larger than this is not listed for the script check
_MAX_REPORTED = 5  # per upload, for per-file problems, so one bad directory cannot flood the report


# --- uploads and other local paths -----------------------------------------------------------------------


def resolve_local(source: str, project_dir: Path) -> Path:
    """A path from the spec, relative to the project directory (the spec file's directory), resolved."""
    return (project_dir / source).resolve()


def is_inside(path: Path, project_dir: Path) -> bool:
    return path == project_dir or path.is_relative_to(project_dir)


def upload_files(source: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """(object key, local file) for every file a directory upload sends, in a stable order.

    Every regular file below `source`, keys `prefix + relative path` with '/' separators. Symlinked directories
    are not descended into (no loops); symlinks to files are listed like files. resources/upload.py agrees.
    """
    for folder, dirnames, filenames in os.walk(source, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(folder) / name
            if path.is_file():
                yield prefix + path.relative_to(source).as_posix(), path


def file_upload_key(resolved_source: Path, prefix: str) -> str:
    """The object key of a single-file upload: the prefix plus the (resolved) file's name, as the uploader sends it."""
    return prefix + resolved_source.name


@dataclass
class UploadIndex:
    keys: dict[str, int]  # object key -> index of the upload producing it
    unknown_prefixes: list[str]  # uploads we could not list: any key below these may exist
    complete: bool = True  # False when an upload is too broken to say what it produces
    directories: dict[int, str] = dataclass_field(default_factory=dict)  # index of a directory upload -> its prefix

    def produces(self, key: str) -> bool:
        if not self.complete:
            return True  # the broken upload is reported already; do not guess about scripts
        return key in self.keys or any(key.startswith(prefix) for prefix in self.unknown_prefixes)


def source_path(
    path: DocPath, source: str, project_dir: Path, allow_outside: bool, what: str
) -> tuple[Path | None, list[Finding]]:
    """Resolve a local path from the spec and check it stays in the project; None when it cannot be used."""
    if any(rules.is_control(c) for c in source):
        return None, [Finding(path, "must not contain control characters")]
    try:
        resolved = resolve_local(source, project_dir)
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a symlink loop
        return None, [Finding(path, f"cannot be resolved: {exc}")]
    if not allow_outside and not is_inside(resolved, project_dir):
        hint = "; set allow_outside_project: true on this upload to allow it" if what == "upload" else ""
        return None, [Finding(path, f"points outside the project directory {project_dir} (to {resolved}){hint}")]
    return resolved, []


def _check_directory_upload(
    path: DocPath, index: int, root: Path, prefix: str, project_dir: Path, allow_outside: bool, listing: UploadIndex
) -> list[Finding]:
    findings: list[Finding] = []
    bad_keys: list[str] = []
    count = 0
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            entry = Path(folder) / name
            if not entry.is_symlink():
                continue
            try:
                target = entry.resolve()
            except (OSError, RuntimeError):
                target = None
            if target is None or not target.exists():
                findings.append(Finding(path, f"contains a broken symlink {entry}"))
            elif not allow_outside and not is_inside(target, project_dir):
                findings.append(
                    Finding(
                        path,
                        f"contains a symlink {entry} pointing outside the project directory (to {target}); "
                        "set allow_outside_project: true on this upload to allow it",
                    )
                )
        count += len(filenames) + len(dirnames)
        if count > MAX_LISTED_FILES:
            listing.unknown_prefixes.append(prefix)
            break
        for name in filenames:
            if not (Path(folder) / name).is_file():
                continue  # broken symlinks (reported above) and special files are not uploaded
            key = prefix + (Path(folder) / name).relative_to(root).as_posix()
            if rules.object_key_problems(key):
                bad_keys.append(key)
            elif key in listing.keys and listing.keys[key] != index:
                findings.append(
                    Finding(path, f"produces the key {key!r}, which spec.uploads[{listing.keys[key]}] also produces")
                )
            else:
                listing.keys[key] = index
    for key in bad_keys[:_MAX_REPORTED]:
        findings.append(
            Finding(
                path,
                f"contains a file whose object key {describe(key)} is invalid: "
                + "; ".join(rules.object_key_problems(key)),
            )
        )
    if len(bad_keys) > _MAX_REPORTED:
        findings.append(Finding(path, f"and {len(bad_keys) - _MAX_REPORTED} more files with invalid keys"))
    return findings[: 2 * _MAX_REPORTED]


def _reserved_prefix_problems(prefix: str, keys: reserved.ReservedIndex) -> list[str]:
    """An upload prefix that lies inside one of the tool's reserved prefixes."""
    return [
        f"{prefix!r} lies inside {r.key!r}, {r.why}: no upload may write there (choose another prefix)"
        for r in keys.covering(prefix)
        if r.prefix
    ]


def _check_upload_keys(listing: UploadIndex, keys: reserved.ReservedIndex, refused: set[int]) -> list[Finding]:
    """Uploaded object keys that are (or lie below) one of the tool's reserved keys, at most _MAX_REPORTED per
    upload; `refused` uploads were reported at their prefix already."""
    findings: list[Finding] = []
    per_upload: dict[int, int] = {}
    for key, index in sorted(listing.keys.items()):
        if index in refused:
            continue
        for r in keys.covering(key):
            if r.covers(key):
                per_upload[index] = per_upload.get(index, 0) + 1
                if per_upload[index] <= _MAX_REPORTED:
                    findings.append(
                        Finding(
                            ("spec", "uploads", index, "source"),
                            f"would upload {key!r}, which is reserved: {r.why}; the tool writes it itself "
                            "(remove that file from the upload or choose another prefix)",
                        )
                    )
                break
    return findings


def check_uploads(
    spec: dict[str, Any], project_dir: Path, keys: reserved.ReservedIndex | None = None
) -> tuple[list[Finding], UploadIndex]:
    findings: list[Finding] = []
    listing = UploadIndex({}, [])
    refused: set[int] = set()
    for i, upload in items_of(spec.get("uploads")):
        base: DocPath = ("spec", "uploads", i)
        prefix = text_at(upload, "prefix")
        prefix = "" if "prefix" not in upload else prefix
        prefix_problems = rules.key_prefix_problems(prefix) if prefix is not None else []
        if prefix is not None and not prefix_problems:
            inside = _reserved_prefix_problems(prefix, keys or reserved.ReservedIndex([]))
            findings += located((*base, "prefix"), inside)
            if inside:
                refused.add(i)
        findings += located((*base, "prefix"), prefix_problems)
        source = text_at(upload, "source")
        if source is None or prefix is None or prefix_problems:
            listing.complete = False
            continue
        allow = upload.get("allow_outside_project") is True
        resolved, problems = source_path((*base, "source"), source, project_dir, allow, "upload")
        findings += problems
        if resolved is None:
            listing.unknown_prefixes.append(prefix)
            continue
        if resolved.is_dir():
            listing.directories[i] = prefix
            findings += _check_directory_upload((*base, "source"), i, resolved, prefix, project_dir, allow, listing)
        elif resolved.is_file():
            key = file_upload_key(resolved, prefix)
            if source.endswith("/"):
                findings.append(Finding((*base, "source"), f"ends with '/' but {source!r} is a file"))
                listing.keys.setdefault(key, i)  # reported once here, not again as a missing script
            elif key in listing.keys:
                findings.append(
                    Finding(
                        (*base, "source"),
                        f"produces the key {key!r}, which spec.uploads[{listing.keys[key]}] also produces",
                    )
                )
            else:
                listing.keys[key] = i
        elif resolved.exists():
            findings.append(Finding((*base, "source"), f"{source!r} is neither a regular file nor a directory"))
        else:
            generate = generator_command(resolved) if not Path(source).suffix else None
            also = f"; to generate the example's raw data there: {generate}" if generate else ""
            findings.append(Finding((*base, "source"), f"{source!r} does not exist (looked for {resolved}){also}"))
            listing.unknown_prefixes.append(prefix)
    findings += _check_upload_keys(listing, keys or reserved.ReservedIndex([]), refused)
    return findings, listing


# --- job arguments by role (spec/arguments.py), the allow-list and the reserved keys ------------------------


def _s3_parts(uri: str) -> tuple[str, str] | None:
    """(bucket, key) of s3://bucket/key, None when it is no S3 URI."""
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


@dataclass
class _Outputs:
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


def collect_outputs(spec: dict[str, Any], bucket: str | None) -> tuple[list[Finding], _Outputs]:
    findings: list[Finding] = []
    outputs = _Outputs({})
    for path, name, value in _job_arguments(spec):
        if arguments.role_of(name, value) != arguments.OUTPUT:
            continue
        key, problems = _output_shape_problems(value, bucket)
        findings += located(path, problems)
        if key is not None and bucket is not None:
            outputs.by_argument[path] = key
    return findings, outputs


def check_output_overlaps(
    spec: dict[str, Any], outputs: _Outputs, keys: reserved.ReservedIndex, uploads: UploadIndex
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


def check_reads(spec: dict[str, Any], bucket: str | None, outputs: _Outputs) -> list[Finding]:
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
    path: DocPath, name: str, location: str, bucket: str | None, outputs: _Outputs, allowed: list[str]
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
    outputs = _Outputs({("spec", n): v[len(own) :] for n, v in spec_arguments
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
