"""Checks of a parsed pipeline document: JSON Schema errors in plain words, then the semantic checks a schema
cannot make (names, cron, ARNs, files on disk, cross references).

Everything here works on the interpolated document (plain dicts and lists) and returns `Finding`s: a path in
the document and a message. load.py turns them into located `Problem`s. The semantic checks are defensive:
they skip values of the wrong type, because the schema has already reported those.
"""

from __future__ import annotations

import bisect
import difflib
import os
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.invocation import generator_command
from reconciler.spec import arguments, reserved, rules
from reconciler.spec.notify_checks import notify_findings
from reconciler.spec.quicksight_checks import dataset_findings
from reconciler.spec.schemas import default_at, load_schema

if TYPE_CHECKING:  # jsonschema is imported when a spec is first checked (load.py skips known-valid ones)
    from jsonschema import ValidationError

DocPath = tuple[str | int, ...]

SCHEMA_FILE = "pipeline.v1.json"
MAX_LISTED_FILES = 100_000  # a directory upload larger than this is not listed for the script check
_MAX_REPORTED = 5  # per upload, for per-file problems, so one bad directory cannot flood the report


@dataclass(frozen=True)
class Finding:
    """A problem at a path in the document; `at_key` points at the key itself (e.g. an unknown key)."""

    path: DocPath
    message: str
    at_key: bool = False


# --- JSON Schema errors in plain words -------------------------------------------------------------------

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def describe(value: Any) -> str:
    """A short description of a value for messages: 'abc', 5, true, a list, a mapping, an empty value."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:60]) + "..."
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _did_you_mean(word: str, choices: list[str]) -> str:
    if len(word) > 64:  # difflib is quadratic; long keys are never typos of ours
        return ""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_message(error: ValidationError, raw: Mapping[DocPath, str], interpolated: AbstractSet[DocPath]) -> str:
    expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    words = " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in expected)
    instance = error.instance
    message = f"must be {words} (got {describe(instance)})"
    path = tuple(error.absolute_path)
    if path in interpolated:
        return message + " after reading the environment"
    if "string" in expected and isinstance(instance, bool | int | float) and path in raw:
        message += f'; put it in quotes: "{raw[path]}"'
    elif "array" in expected and isinstance(instance, str | int | float | bool):
        message += "; write each item on its own line starting with '- '"
    elif {"integer", "number"} & set(expected) and isinstance(instance, str):
        message += _number_hint(error, instance)
    return message


def _number_hint(error: ValidationError, instance: str) -> str:
    """Text where a number belongs: a quoted number ("2") needs its quotes removed; anything else (`two`,
    `an hour`, quoted or not) needs a number instead, e.g. the field's default or minimum."""
    try:
        float(instance.strip())
    except ValueError:
        schema = error.schema if isinstance(error.schema, dict) else {}
        example = next((v for v in (schema.get("default"), schema.get("minimum"))
                        if isinstance(v, int | float) and not isinstance(v, bool)), 1)
        return f"; write a number such as {example}"
    return "; write the number without quotes"


def _enum_message(error: ValidationError) -> str:
    allowed = ", ".join(str(v) for v in error.validator_value)
    message = f"must be one of {allowed} (got {describe(error.instance)})"
    explain = error.schema.get("x-explain", {}) if isinstance(error.schema, dict) else {}
    if isinstance(error.instance, str) and error.instance.upper() in explain:
        message += f": {explain[error.instance.upper()]}"
    elif isinstance(error.instance, str):
        close = _did_you_mean(error.instance, [str(v) for v in error.validator_value])
        if not close:
            upper = [str(v) for v in error.validator_value if str(v).upper() == error.instance.upper()]
            close = f" (did you mean {upper[0]!r}?)" if upper else ""
        message += close
    return message


def _properties_count_message(error: ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    names = list(schema.get("properties", {}))
    if schema.get("minProperties") == 1 and schema.get("maxProperties") == 1 and names:
        choice = " or ".join(repr(n) for n in names)
        got = "none" if not error.instance else "; ".join(repr(k) for k in error.instance)
        return f"needs exactly one of {choice} (got {got})"
    if error.validator == "maxProperties":
        return f"has {len(error.instance)} entries; at most {error.validator_value} are allowed"
    return f"needs at least {error.validator_value} entries"


def _translate(error: ValidationError, raw: Mapping[DocPath, str], interpolated: AbstractSet[DocPath]) -> list[Finding]:
    path: DocPath = tuple(error.absolute_path)
    keyword = error.validator
    value = error.validator_value
    instance = error.instance
    if keyword == "required":
        return [Finding((*path, str(name)), "is required") for name in value if name not in instance]
    if keyword == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        findings = []
        for key in instance:
            if key in allowed:
                continue
            hint = _did_you_mean(str(key), allowed) or (f" (allowed here: {', '.join(allowed)})" if allowed else "")
            findings.append(Finding((*path, key), f"unknown key {describe(key)}{hint}", at_key=True))
        return findings
    if keyword == "type":
        return [Finding(path, _type_message(error, raw, interpolated))]
    if keyword == "enum":
        return [Finding(path, _enum_message(error))]
    if keyword == "const":
        return [Finding(path, f"must be {value!r} (got {describe(instance)})")]
    if keyword == "minLength":
        if instance == "":
            return [Finding(path, "must not be empty")]
        return [Finding(path, f"must be at least {value} characters long (got {len(instance)})")]
    if keyword == "maxLength":
        return [Finding(path, f"must be at most {value} characters long (got {len(instance)})")]
    if keyword == "minimum":
        reason = error.schema.get("x-minimum-reason") if isinstance(error.schema, dict) else None
        why = f"{reason}; " if reason else ""
        return [Finding(path, f"must be at least {value} ({why}got {describe(instance)})")]
    if keyword == "maximum":
        return [Finding(path, f"must be at most {value} (got {describe(instance)})")]
    if keyword == "minItems":
        noun = "item" if value == 1 else "items"
        return [Finding(path, f"must list at least {value} {noun}")]
    if keyword == "uniqueItems":
        seen: list[Any] = []
        repeated: list[Any] = []
        for item in instance:
            (repeated if item in seen and item not in repeated else seen).append(item)
        return [Finding(path, f"lists {describe(item)} more than once") for item in repeated]
    if keyword in ("minProperties", "maxProperties"):
        return [Finding(path, _properties_count_message(error), at_key=True)]
    return [Finding(path, error.message)]


def schema_findings(
    doc: Any, raw: Mapping[DocPath, str] | None = None, interpolated: AbstractSet[DocPath] = frozenset()
) -> list[Finding]:
    """Every JSON Schema error of `doc` against schema/pipeline.v1.json, in plain words.

    `raw` maps paths to the scalar text as written in YAML, used for hints such as "put it in quotes";
    `interpolated` holds the paths whose text came from ${VAR}.
    """
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(load_schema(SCHEMA_FILE))
    errors = list(validator.iter_errors(doc))
    # A value of the wrong type also fails its enum, pattern...: the type is the one thing to say.
    mistyped = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    findings: list[Finding] = []
    for error in errors:
        if error.validator != "type" and tuple(error.absolute_path) in mistyped:
            continue
        findings.extend(_translate(error, raw or {}, interpolated))
    return findings


def schema_type_errors(doc: Any) -> Iterator[tuple[DocPath, list[str]]]:
    """(path, expected types) of every `type` error, for the interpolation coercion pass in load.py."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(load_schema(SCHEMA_FILE))
    for error in validator.iter_errors(doc):
        if error.validator == "type":
            expected = error.validator_value
            yield tuple(error.absolute_path), list(expected) if isinstance(expected, list) else [expected]


# --- small accessors for a document that may be partly invalid ------------------------------------------


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _text(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) else None


def _located(path: DocPath, messages: list[str], at_key: bool = False) -> list[Finding]:
    return [Finding(path, message, at_key) for message in messages]


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
class _UploadIndex:
    keys: dict[str, int]  # object key -> index of the upload producing it
    unknown_prefixes: list[str]  # uploads we could not list: any key below these may exist
    complete: bool = True  # False when an upload is too broken to say what it produces
    directories: dict[int, str] = dataclass_field(default_factory=dict)  # index of a directory upload -> its prefix

    def produces(self, key: str) -> bool:
        if not self.complete:
            return True  # the broken upload is reported already; do not guess about scripts
        return key in self.keys or any(key.startswith(prefix) for prefix in self.unknown_prefixes)


def _source_path(
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
    path: DocPath, index: int, root: Path, prefix: str, project_dir: Path, allow_outside: bool, listing: _UploadIndex
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


def _check_upload_keys(listing: _UploadIndex, keys: reserved.ReservedIndex, refused: set[int]) -> list[Finding]:
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


def _check_uploads(
    spec: dict[str, Any], project_dir: Path, keys: reserved.ReservedIndex | None = None
) -> tuple[list[Finding], _UploadIndex]:
    findings: list[Finding] = []
    listing = _UploadIndex({}, [])
    refused: set[int] = set()
    for i, upload in _items(spec.get("uploads")):
        base: DocPath = ("spec", "uploads", i)
        prefix = _text(upload, "prefix")
        prefix = "" if "prefix" not in upload else prefix
        prefix_problems = rules.key_prefix_problems(prefix) if prefix is not None else []
        if prefix is not None and not prefix_problems:
            inside = _reserved_prefix_problems(prefix, keys or reserved.ReservedIndex([]))
            findings += _located((*base, "prefix"), inside)
            if inside:
                refused.add(i)
        findings += _located((*base, "prefix"), prefix_problems)
        source = _text(upload, "source")
        if source is None or prefix is None or prefix_problems:
            listing.complete = False
            continue
        allow = upload.get("allow_outside_project") is True
        resolved, problems = _source_path((*base, "source"), source, project_dir, allow, "upload")
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
    for i, job in _items(spec.get("jobs")):
        for name, value in _mapping(job.get("arguments")).items():
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


def _collect_outputs(spec: dict[str, Any], bucket: str | None) -> tuple[list[Finding], _Outputs]:
    findings: list[Finding] = []
    outputs = _Outputs({})
    for path, name, value in _job_arguments(spec):
        if arguments.role_of(name, value) != arguments.OUTPUT:
            continue
        key, problems = _output_shape_problems(value, bucket)
        findings += _located(path, problems)
        if key is not None and bucket is not None:
            outputs.by_argument[path] = key
    return findings, outputs


def _check_output_overlaps(
    spec: dict[str, Any], outputs: _Outputs, keys: reserved.ReservedIndex, uploads: _UploadIndex
) -> list[Finding]:
    """An output prefix clear of the tool's own keys (but its own pointer and run prefixes), of every uploaded
    key and directory upload, and so of every job's script."""
    scripts = {s for _, job in _items(spec.get("jobs")) if (s := _text(job, "script"))}
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
    entries = _mapping(spec.get("allow")).get(field_name)
    return [e for e in entries if isinstance(e, str)] if isinstance(entries, list) else []


def _check_allow(spec: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for field_name in ("external_code", "external_inputs"):
        entries = _mapping(spec.get("allow")).get(field_name)
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
            findings += _located(path, [f"bucket {p}" for p in rules.bucket_name_problems(parts[0])])
            if parts[1] != "":
                findings += _located(path, [f"key prefix {p}" for p in rules.key_prefix_problems(parts[1])])
    return findings


def _allowed(uri: str, entries: list[str]) -> bool:
    return any(uri.startswith(entry if entry.endswith("/") else entry + "/") for entry in entries)


def _check_reads(spec: dict[str, Any], bucket: str | None, outputs: _Outputs) -> list[Finding]:
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
                findings += _located(path, [f"is an input path that {p}" for p in rules.s3_uri_problems(value, None)])
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
    for finding in _check_reads(doc, bucket, outputs):
        found.append((str(finding.path[-1]), finding.message))
    return found


def _check_crawler_reserved(spec: dict[str, Any], bucket: str | None, keys: reserved.ReservedIndex) -> list[Finding]:
    findings: list[Finding] = []
    for i, crawler in _items(spec.get("crawlers")):
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


# --- the semantic checks, one small function per part of the spec --------------------------------------


def _check_metadata(metadata: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    name = _text(metadata, "name")
    if name:
        findings += _located(("metadata", "name"), rules.pipeline_name_problems(name))
    region = _text(metadata, "region")
    if region:
        findings += _located(("metadata", "region"), rules.region_problems(region))
    for key, value in _mapping(metadata.get("tags")).items():
        path: DocPath = ("metadata", "tags", key)
        findings += _located(path, rules.tag_key_problems(key), at_key=True)
        if isinstance(value, str):
            findings += _located(path, rules.tag_value_problems(value))
    return findings


def _check_bucket(spec: dict[str, Any], region: str | None) -> list[Finding]:
    bucket = _mapping(spec.get("bucket"))
    base: DocPath = ("spec", "bucket")
    findings: list[Finding] = []
    name = _text(bucket, "name")
    if name is not None:
        findings += _located((*base, "name"), rules.bucket_name_problems(name))
    encryption = _mapping(bucket.get("encryption"))
    kind = encryption.get("type", "SSE-S3")
    key_arn = _text(encryption, "kms_key_arn")
    if kind == "SSE-KMS" and "kms_key_arn" not in encryption:
        findings.append(Finding((*base, "encryption", "kms_key_arn"), "is required with type SSE-KMS"))
    elif kind == "SSE-S3" and "kms_key_arn" in encryption:
        findings.append(Finding((*base, "encryption", "kms_key_arn"), "is only allowed with type SSE-KMS", at_key=True))
    elif key_arn is not None:
        findings += _located((*base, "encryption", "kms_key_arn"), rules.kms_key_arn_problems(key_arn, region))
    return findings


def _check_role(spec: dict[str, Any], region: str | None) -> list[Finding]:
    role = _mapping(spec.get("role"))
    findings: list[Finding] = []
    arn = _text(role, "arn")
    if arn is not None:
        findings += _located(("spec", "role", "arn"), rules.role_arn_problems(arn, region))
    name = _text(_mapping(role.get("managed")), "name")
    if name is not None:
        findings += _located(("spec", "role", "managed", "name"), rules.role_name_problems(name))
    return findings


def _check_database(spec: dict[str, Any]) -> list[Finding]:
    name = _text(_mapping(spec.get("database")), "name")
    if name is None:
        return []
    return _located(("spec", "database", "name"), rules.database_name_problems(name))


def _unique_names(kind: str, section: str, items: list[tuple[int, dict[str, Any]]]) -> list[Finding]:
    findings: list[Finding] = []
    first: dict[str, int] = {}
    for i, item in items:
        name = _text(item, "name")
        if name is None:
            continue
        path: DocPath = ("spec", section, i, "name")
        findings += _located(path, rules.glue_name_problems(name))
        if name in first:
            findings.append(Finding(path, f"{kind} name {name!r} is already used by spec.{section}[{first[name]}]"))
        else:
            first[name] = i
    return findings


def _check_crawlers(spec: dict[str, Any], bucket: str | None) -> list[Finding]:
    crawlers = _items(spec.get("crawlers"))
    findings = _unique_names("crawler", "crawlers", crawlers)
    for i, crawler in crawlers:
        base: DocPath = ("spec", "crawlers", i)
        targets = crawler.get("targets")
        for t, target in enumerate(targets if isinstance(targets, list) else []):
            if isinstance(target, str):
                findings += _located((*base, "targets", t), rules.s3_uri_problems(target, bucket))
        prefix = _text(crawler, "table_prefix")
        if prefix is not None:
            findings += _located((*base, "table_prefix"), rules.table_prefix_problems(prefix))
        schedule = _text(crawler, "schedule")
        if schedule is not None:
            findings += _located((*base, "schedule"), rules.glue_cron_problems(schedule))
        policy = _mapping(crawler.get("schema_change_policy"))  # the schema's defaults are filled in already
        behaviours = (policy.get("update_behavior"), policy.get("delete_behavior"))
        if crawler.get("recrawl_policy") == "CRAWL_NEW_FOLDERS_ONLY" and behaviours != ("LOG", "LOG"):
            findings.append(
                Finding(
                    (*base, "recrawl_policy"),
                    "CRAWL_NEW_FOLDERS_ONLY needs schema_change_policy update_behavior: LOG and "
                    "delete_behavior: LOG (AWS refuses anything else)",
                )
            )
    return findings


def _check_jobs(spec: dict[str, Any], uploads: _UploadIndex) -> list[Finding]:
    jobs = _items(spec.get("jobs"))
    findings = _unique_names("job", "jobs", jobs)
    for i, job in jobs:
        base: DocPath = ("spec", "jobs", i)
        script = _text(job, "script")
        if script:
            key_problems = rules.object_key_problems(script)
            findings += _located((*base, "script"), key_problems)
            if not key_problems and not uploads.produces(script):
                close = _did_you_mean(script, sorted(uploads.keys))
                findings.append(
                    Finding(
                        (*base, "script"),
                        f"{script!r} is not uploaded: no entry in spec.uploads produces this key{close}",
                    )
                )
        worker_type = job.get("worker_type")
        if isinstance(worker_type, str) and worker_type in rules.WORKER_TYPE_REFUSALS:
            findings.append(Finding((*base, "worker_type"), rules.WORKER_TYPE_REFUSALS[worker_type]))
        version = job.get("glue_version", default_at("spec", "jobs", "glue_version"))
        if isinstance(worker_type, str) and isinstance(version, str):
            problem = rules.worker_type_version_problem(worker_type, version)
            if problem:
                findings.append(Finding((*base, "worker_type"), problem))
        for key in _mapping(job.get("arguments")):
            if not key.startswith("--") or len(key) < 3:
                hint = f" (did you mean {'--' + key.lstrip('-')!r}?)" if key.strip("-") else ""
                findings.append(
                    Finding((*base, "arguments", key), f"argument names must start with '--'{hint}", at_key=True)
                )
    return findings


def _declared_names(spec: dict[str, Any], section: str) -> list[str] | None:
    """Names declared in a section, or None if some entry has no usable name (then references are not checked)."""
    names: list[str] = []
    for _, item in _items(spec.get(section)):
        name = _text(item, "name")
        if name is None or rules.glue_name_problems(name):
            return None
        names.append(name)
    return names


def _check_schedule(spec: dict[str, Any]) -> list[Finding]:
    schedule = spec.get("schedule")
    if not isinstance(schedule, dict):
        return []
    base: DocPath = ("spec", "schedule")
    findings: list[Finding] = []
    workflow = _text(schedule, "workflow")
    if workflow is not None:
        findings += _located((*base, "workflow"), rules.glue_name_problems(workflow))
    cron = _text(schedule, "cron")
    if cron is not None:
        findings += _located((*base, "cron"), rules.glue_cron_problems(cron))
    for field, section in (("crawler", "crawlers"), ("job", "jobs")):
        wanted = _text(schedule, field)
        declared = _declared_names(spec, section)
        if wanted is None or declared is None or wanted in declared:
            continue
        listed = ", ".join(repr(n) for n in declared) or "none"
        close = _did_you_mean(wanted, declared)
        findings.append(
            Finding(
                (*base, field),
                f"refers to {field} {wanted!r}, which spec.{section} does not declare{close} (declared: {listed})",
            )
        )
    return findings


def _check_manifest_key(key: str | None, keys: reserved.ReservedIndex) -> list[Finding]:
    """The manifest key is one of the tool's own keys: it must not be (or lie below) another one."""
    if not key or rules.object_key_problems(key):
        return []
    path: DocPath = ("spec", "quicksight", "manifest", "key")
    return [
        Finding(path, f"is {r.why} ({r.key!r}): the manifest needs a key of its own")
        for r in keys.covering(key)
        if r.kind != "manifest" and r.covers(key)
    ]


def _check_quicksight(spec: dict[str, Any], project_dir: Path) -> list[Finding]:
    manifest = _mapping(_mapping(spec.get("quicksight")).get("manifest"))
    base: DocPath = ("spec", "quicksight", "manifest")
    findings: list[Finding] = []
    template = _text(manifest, "template")
    resolved_template = None
    if template:
        resolved_template, problems = _source_path((*base, "template"), template, project_dir, False, "template")
        findings += problems
        if resolved_template is not None and not resolved_template.is_file():
            findings.append(
                Finding((*base, "template"), f"{template!r} is not a file (looked for {resolved_template})")
            )
    output = _text(manifest, "output")
    if output:
        resolved_output, problems = _source_path((*base, "output"), output, project_dir, False, "output")
        findings += problems
        if resolved_output is not None and resolved_output.is_dir():
            findings.append(Finding((*base, "output"), f"{output!r} is a directory; name a file"))
        elif resolved_output is not None and resolved_output == resolved_template:
            findings.append(Finding((*base, "output"), "must not be the template itself"))
    key = _text(manifest, "key")
    if key:
        findings += _located((*base, "key"), rules.object_key_problems(key))
    data_prefix = _text(manifest, "data_prefix")
    if data_prefix:
        findings += _located((*base, "data_prefix"), rules.key_prefix_problems(data_prefix))
    return findings


def semantic_findings(doc: Any, project_dir: Path) -> list[Finding]:
    """Every semantic problem of a (possibly partly schema-invalid) document.

    `project_dir` is the resolved directory of the spec file: relative paths start there and may not leave it.
    """
    if not isinstance(doc, dict):
        return []
    metadata = _mapping(doc.get("metadata"))
    spec = _mapping(doc.get("spec"))
    region = _text(metadata, "region")
    bucket = _text(_mapping(spec.get("bucket")), "name")
    output_findings, outputs = _collect_outputs(spec, bucket)
    manifest_key = _text(_mapping(_mapping(spec.get("quicksight")).get("manifest")), "key")
    keys = reserved.ReservedIndex(reserved.reserved_keys(outputs.prefixes, manifest_key))
    upload_findings, uploads = _check_uploads(spec, project_dir, keys)
    return [
        *_check_metadata(metadata),
        *_check_bucket(spec, region),
        *upload_findings,
        *_check_role(spec, region),
        *_check_database(spec),
        *_check_crawlers(spec, bucket),
        *_check_crawler_reserved(spec, bucket, keys),
        *_check_jobs(spec, uploads),
        *output_findings,
        *_check_output_overlaps(spec, outputs, keys, uploads),
        *_check_reads(spec, bucket, outputs),
        *_check_allow(spec),
        *_check_schedule(spec),
        *_check_quicksight(spec, project_dir),
        *_check_manifest_key(manifest_key, keys),
        *(Finding(path, message) for path, message in notify_findings(doc)),
        *(Finding(path, message) for path, message in dataset_findings(doc)),
    ]
