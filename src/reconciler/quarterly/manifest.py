"""The QuickSight S3 manifest: render it from a template, check it against QuickSight's rules, check the data.

What QuickSight documents (user guide, "Supported formats for Amazon S3 manifest files"), and what this
module relies on:

- A QuickSight-format manifest is `{"fileLocations": [...], "globalUploadSettings": {...}}` in a file whose
  name ends in `.json`. Each `fileLocations` entry lists `URIs` (single objects) or `URIPrefixes` (a bucket
  or a folder); at least one URI or prefix in total.
- URIs: `s3://bucket/key`, `https://s3.amazonaws.com/bucket/key`, `https://bucket.s3.amazonaws.com/key`, and
  the region-qualified `https://s3-<region>.amazonaws.com/bucket/key` and
  `https://bucket.s3-<region>.amazonaws.com/key`. Prefixes take the same shapes, naming a bucket or a folder.
- "All files in a specified bucket or folder are imported. QuickSight recursively retrieves files from child
  folders." A prefix therefore imports its subfolders too: anything below it that is not data (Spark's
  `_SUCCESS`, Hadoop `.crc` files, a `_temporary/` folder, an older Parquet copy) is imported with it.
  `check_prefix_objects` looks for exactly that.
- `globalUploadSettings` is optional. `format`: CSV (default), TSV, CLF, ELF or JSON; Parquet cannot be
  read this way. `delimiter`: ',' for CSV (default), a tab for TSV. `textqualifier`: ' or " (default ").
  `containsHeader`: the string "true" (default) or "false". For JSON files give only `format`; for CLF and
  ELF files only `format` is used.
- Every file a manifest names must have the same format and the same number and type of columns.

The rendered manifest is written to `spec.quicksight.manifest.output` and uploaded to
`spec.quicksight.manifest.key` beside the data. It is derived from the publish pointer (publish.py): one
URIPrefix per published quarter, each the CSV prefix of that quarter's published run
(`manifest_for_prefixes`), converged by every `run`, `promote` and `apply`.
- Limits (same page): no file above 1 GB, at most 10 GB and 1,000 files in all. publish.py refuses to
  publish a run that would take the manifest past them (`check_manifest_limits`).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import string
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, ValidationError

from reconciler.errors import ManifestError
from reconciler.spec import rules
from reconciler.spec.checks import describe
from reconciler.spec.model import Pipeline
from reconciler.spec.schemas import load_schema

SCHEMA_FILE = "quicksight-manifest.v1.json"

FORMATS = ("CSV", "TSV", "CLF", "ELF", "JSON")
DEFAULT_FORMAT = "CSV"
# The delimiter each delimited format takes ("This must map to the file type specified in the format field").
FORMAT_DELIMITERS = {"CSV": ",", "TSV": "\t"}
# "If you are importing JSON files, then for globalUploadSettings specify format, but not delimiter,
# textqualifier, or containsHeader."
NOT_FOR_JSON = ("delimiter", "textqualifier", "containsHeader")

# Placeholders a template may use (stdlib string.Template: `${name}`; a literal '$' is written '$$').
PLACEHOLDERS = ("uri_prefix", "format", "delimiter", "contains_header")
# Without this one the manifest would not point at the pipeline's data: a template must use it.
REQUIRED_PLACEHOLDERS = ("uri_prefix",)

_UNREADABLE_FORMATS = {".parquet": "Parquet", ".orc": "ORC", ".avro": "Avro"}
_UNREADABLE_NAMES = {"PARQUET": "Parquet", "ORC": "ORC", "AVRO": "Avro"}


def _unreadable(name: str) -> str:
    return (
        f"QuickSight cannot read {name} through a manifest (it reads CSV, TSV, CLF, ELF or JSON); point the "
        "manifest at the job's CSV copy (e.g. prepared/aggregated/csv/) with format CSV"
    )


_MAX_LISTED = 5  # per kind of problem in check_prefix_objects, so one bad prefix cannot flood the output

_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
# The S3 endpoint hosts of QuickSight's documented URI forms: path style (`s3.amazonaws.com`,
# `s3-<region>.amazonaws.com`) and virtual-hosted style (`<bucket>.s3...`). The newer dotted form
# `s3.<region>.amazonaws.com` is accepted too, and the China partition's `.amazonaws.com.cn`.
_S3_HOST = re.compile(rf"(?:(?P<bucket>.+)\.)?s3(?:[-.]{_REGION})?\.amazonaws\.com(?:\.cn)?")


# --- rendering ---------------------------------------------------------------------------------------------


def _json_string_body(value: str) -> str:
    """`value` escaped for use inside a JSON string literal (a tab becomes \\t, a quote \\")."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def render_manifest(
    template_text: str,
    *,
    bucket: str,
    data_prefix: str,
    format: str = DEFAULT_FORMAT,  # shadows the builtin on purpose: the manifest field has this name
    delimiter: str = ",",
    contains_header: bool = True,
    uris: list[str] | None = None,
    template_file: str = "the manifest template",
) -> dict[str, Any]:
    """Fill the template's placeholders and parse the result as JSON.

    Placeholders (inside JSON strings, e.g. `"${format}"`): `uri_prefix` (`s3://<bucket>/<data_prefix>`),
    `format`, `delimiter`, `contains_header` ("true"/"false"). Values are JSON-escaped, so a tab delimiter
    renders as `"\\t"`. With `uris`, `fileLocations` becomes one `{"URIs": uris}` entry instead of the prefix.
    For format JSON the settings QuickSight forbids for JSON (delimiter, textqualifier, containsHeader) are
    dropped. The result is not validated here: see `validate_manifest`.

    Raises ManifestError naming `template_file` when the template uses an unknown or malformed placeholder,
    lacks `${uri_prefix}`, is not a JSON object once filled in, or hardcodes a different format.
    """
    template = string.Template(template_text)
    if not template.is_valid():
        try:
            template.substitute({name: "" for name in template.get_identifiers()})
        except ValueError as exc:  # "Invalid placeholder in string: line 3, col 5"
            raise ManifestError(
                f"{template_file}: {exc}",
                hint="placeholders look like ${uri_prefix}; write a literal '$' as '$$'",
            ) from None
    identifiers = template.get_identifiers()
    known = ", ".join(f"${{{name}}}" for name in PLACEHOLDERS)
    for name in identifiers:
        if name not in PLACEHOLDERS:
            close = difflib.get_close_matches(name, PLACEHOLDERS, n=1)
            suggestion = f" (did you mean ${{{close[0]}}}?)" if close else ""
            raise ManifestError(
                f"{template_file}: unknown placeholder ${{{name}}}{suggestion}",
                hint=f"the placeholders are {known}; write a literal '$' as '$$'",
            )
    for name in REQUIRED_PLACEHOLDERS:
        if name not in identifiers:
            raise ManifestError(
                f"{template_file}: the placeholder ${{{name}}} is missing, so the manifest would not point at "
                "the pipeline's data",
                hint=f'list it in fileLocations, e.g. {{"URIPrefixes": ["${{{name}}}"]}}',
            )
    values = {
        "uri_prefix": _json_string_body(f"s3://{bucket}/{data_prefix}"),
        "format": _json_string_body(format),
        "delimiter": _json_string_body(delimiter),
        "contains_header": "true" if contains_header else "false",
    }
    text = template.substitute(values)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"{template_file}: not valid JSON once the placeholders are filled in: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}",
            hint='put each placeholder inside a JSON string, e.g. "format": "${format}"',
        ) from None
    if not isinstance(doc, dict):
        raise ManifestError(f"{template_file}: must hold a JSON object (got {describe(doc)})")
    if uris is not None:
        doc["fileLocations"] = [{"URIs": list(uris)}]
    settings = doc.get("globalUploadSettings")
    # QuickSight reads a missing format as CSV: a template that hardcodes or leaves out the format must not
    # silently override the one asked for.
    has_format = isinstance(settings, dict) and "format" in settings
    rendered = settings["format"] if isinstance(settings, dict) and has_format else DEFAULT_FORMAT
    if isinstance(rendered, str) and rendered != format:
        stated = (
            f"sets globalUploadSettings.format to {rendered!r}"
            if has_format
            else f"gives no format (QuickSight then reads {DEFAULT_FORMAT})"
        )
        raise ManifestError(
            f"{template_file}: the template {stated} but the pipeline asks for {format!r}",
            hint='use the placeholder: "globalUploadSettings": {"format": "${format}"}',
        )
    if format == "JSON" and isinstance(settings, dict):
        for key in NOT_FOR_JSON:
            settings.pop(key, None)
    return doc


# --- validation --------------------------------------------------------------------------------------------


def _path(parts: Sequence[str | int]) -> str:
    """A JSON path for messages: fileLocations[0].URIs[1]; the whole document is 'manifest'."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "manifest"


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    lowered = {choice.lower(): choice for choice in choices}
    if word.lower() in lowered:
        return f" (did you mean {lowered[word.lower()]!r}? names are case-sensitive)"
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _enum_message(error: ValidationError) -> str:
    field = error.absolute_path[-1] if error.absolute_path else ""
    value = error.instance
    if field == "format" and isinstance(value, str):
        upper = value.upper()
        if upper in _UNREADABLE_NAMES:
            return f"{value!r}: {_unreadable(_UNREADABLE_NAMES[upper])}"
        if upper in FORMATS:
            return f"must be upper case: {upper!r} (got {value!r})"
        return f"must be one of {', '.join(FORMATS)} (got {describe(value)})"
    if field == "textqualifier":
        return f"must be a single quote (') or a double quote (\") (got {describe(value)})"
    if field == "containsHeader":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return f'must be "{value.lower()}" in lower case (got {value!r})'
        return f'must be the string "true" or "false" (got {describe(value)})'
    allowed = ", ".join(repr(v) for v in error.validator_value)
    return f"must be one of {allowed} (got {describe(value)})"


_TYPE_WORDS = {"object": "a JSON object", "array": "a JSON list", "string": "a string"}


def _type_message(error: ValidationError) -> str:
    field = error.absolute_path[-1] if error.absolute_path else ""
    value = error.instance
    if field == "containsHeader" and isinstance(value, bool):
        text = "true" if value else "false"
        return f'must be the string "{text}" in quotes, not the JSON boolean {text}'
    expected = error.validator_value
    words = _TYPE_WORDS.get(expected, str(expected)) if isinstance(expected, str) else str(expected)
    return f"must be {words} (got {describe(value)})"


def _schema_message(error: ValidationError) -> list[str]:
    parts = list(error.absolute_path)
    where = _path(parts)
    keyword = error.validator
    instance = error.instance
    if keyword == "required":
        messages = []
        for name in error.validator_value:
            if name in instance:
                continue
            if name == "fileLocations":
                messages.append(
                    f'{where}: "fileLocations" is missing: list the files (URIs) or folders (URIPrefixes) '
                    "QuickSight should import"
                )
            else:
                messages.append(f"{where}: {name!r} is missing")
        return messages
    if keyword == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return [
            f"{where}: unknown field {key!r}{_did_you_mean(str(key), allowed)} (allowed here: {', '.join(allowed)})"
            for key in instance
            if key not in allowed
        ]
    if keyword == "minProperties":
        return [f'{where}: needs "URIs" (single files) or "URIPrefixes" (folders), and has neither']
    if keyword == "maxProperties":
        if {"URIs", "URIPrefixes"} <= set(instance):
            return [f'{where}: has both "URIs" and "URIPrefixes"; put each in its own fileLocations entry']
        return []  # the unknown field is reported by additionalProperties
    if keyword == "minItems":
        if parts == ["fileLocations"]:
            return [f"{where}: is empty: list at least one entry with URIs or URIPrefixes"]
        return [f"{where}: is empty: list at least one {'URI' if parts[-1] == 'URIs' else 'prefix'}"]
    if keyword == "type":
        return [f"{where}: {_type_message(error)}"]
    if keyword == "enum":
        return [f"{where}: {_enum_message(error)}"]
    if keyword in ("minLength", "maxLength"):
        if instance == "":
            return [f"{where}: must not be empty"]
        if parts and parts[-1] == "delimiter":
            return [f"{where}: must be exactly one character (got {instance!r}, {len(instance)} characters)"]
        return [f"{where}: {error.message}"]
    return [f"{where}: {error.message}"]


def _schema_problems(doc: Any) -> list[str]:
    validator = Draft202012Validator(load_schema(SCHEMA_FILE))
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    # A value of the wrong type also fails its enum or length: the type is the one thing to say.
    mistyped = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    problems: list[str] = []
    for error in errors:
        if error.validator != "type" and tuple(error.absolute_path) in mistyped:
            continue
        problems.extend(_schema_message(error))
    return problems


def _split_s3_uri(uri: str) -> tuple[str, str] | str:
    """(bucket, key) of one of QuickSight's documented URI shapes, or a message saying what is wrong."""
    if uri != uri.strip() or any(rules.is_control(c) for c in uri):
        return "must not contain spaces at either end, line breaks or other control characters"
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://") :].partition("/")
        return bucket, key
    if uri.lower().startswith("s3://"):
        return f"the scheme must be lower case 's3://' (got {uri[:5]!r})"
    if not uri.startswith("https://"):
        scheme = uri.partition("://")[0] + "://" if "://" in uri else ""
        got = f" (got {scheme!r})" if scheme else ""
        return f"must be an S3 location, s3://bucket/key or an https:// S3 URL{got}"
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if parts.port is not None or parts.username is not None or parts.query or parts.fragment:
        return "must be a plain S3 URL: no port, user, query string or fragment"
    match = _S3_HOST.fullmatch(host)
    if match is None:
        return (
            f"{host!r} is not an S3 endpoint: use s3://bucket/key, https://bucket.s3.amazonaws.com/key or "
            "https://s3.amazonaws.com/bucket/key (region-qualified forms like s3-eu-central-1 work too)"
        )
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if match.group("bucket"):
        return match.group("bucket"), path
    bucket, _, key = path.partition("/")
    return bucket, key


def _location_problems(uri: str, *, prefix: bool) -> list[str]:
    split = _split_s3_uri(uri)
    if isinstance(split, str):
        return [split]
    bucket, key = split
    if not bucket:
        return ["names no bucket"]
    problems = [f"bucket name {bucket!r} {message}" for message in rules.bucket_name_problems(bucket)]
    if "//" in key or key.startswith("/"):
        problems.append("has an empty folder name ('//') in its key")
    if prefix:
        if key and not key.endswith("/"):
            problems.append(
                f"must end with '/': a prefix names a bucket or a folder, and {key!r} without it also matches "
                f"sibling keys such as {key + '_old/...'!r}"
            )
        return problems
    if not key:
        problems.append("names a bucket, not an object: list buckets and folders under URIPrefixes")
    elif key.endswith("/"):
        problems.append("names a folder (it ends with '/'): list folders under URIPrefixes")
    else:
        for suffix, name in _UNREADABLE_FORMATS.items():
            if key.lower().endswith(suffix):
                problems.append(f"is a {name} file: {_unreadable(name)}")
    return problems


def _rule_problems(doc: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    locations = doc.get("fileLocations")
    for i, entry in enumerate(locations if isinstance(locations, list) else []):
        if not isinstance(entry, dict):
            continue
        for field in ("URIs", "URIPrefixes"):
            values = entry.get(field)
            for j, uri in enumerate(values if isinstance(values, list) else []):
                if isinstance(uri, str) and uri:
                    where = _path(["fileLocations", i, field, j])
                    problems += [f"{where}: {m}" for m in _location_problems(uri, prefix=field == "URIPrefixes")]
    settings = doc.get("globalUploadSettings")
    if not isinstance(settings, dict):
        return problems
    data_format = settings.get("format", DEFAULT_FORMAT)
    if data_format == "JSON":
        for key in NOT_FOR_JSON:
            if key in settings:
                problems.append(
                    f"globalUploadSettings.{key}: must be left out for JSON files (QuickSight takes only format)"
                )
    delimiter = settings.get("delimiter")
    expected = FORMAT_DELIMITERS.get(data_format) if isinstance(data_format, str) else None
    if expected is not None and isinstance(delimiter, str) and len(delimiter) == 1 and delimiter != expected:
        problems.append(
            f"globalUploadSettings.delimiter: {delimiter!r} does not go with format {data_format}: QuickSight reads "
            f"{data_format} files with the delimiter {expected!r}"
            + (" (for tab-separated files use format TSV)" if delimiter == "\t" else "")
        )
    return problems


def validate_manifest(doc: dict[str, Any]) -> list[str]:
    """Every way `doc` breaks QuickSight's manifest rules, as plain messages led by the JSON path; [] = valid.

    The schema (schema/quicksight-manifest.v1.json) covers the shape; the code covers URI shapes and bucket
    names, the trailing '/' of prefixes, Parquet files, the delimiter each format takes and the settings JSON
    files must leave out.
    """
    problems = _schema_problems(doc)
    if isinstance(doc, dict):
        problems += _rule_problems(doc)
    return problems


# --- the data behind the prefix ------------------------------------------------------------------------------


def _non_data_reason(name: str) -> str | None:
    """Why an object named `name` (the last part of its key) is not a data file, with a hint; None if it may be."""
    lowered = name.lower()
    if name.endswith("_$folder$"):
        return "is a folder marker object; delete it"
    if lowered.endswith(".crc"):
        return (
            "is a Hadoop checksum file, written when Spark writes to a local file system; do not copy .crc files to S3"
        )
    if name.startswith("_"):
        return (
            "is a job marker or metadata file (a name starting with '_'); for Spark's _SUCCESS set "
            "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs=false in the job"
        )
    if name.startswith("."):
        return "is a hidden file"
    for suffix, format_name in _UNREADABLE_FORMATS.items():
        if lowered.endswith(suffix):
            return f"is a {format_name} file, which QuickSight cannot read; keep it out of the CSV prefix"
    return None


def _listed(items: list[str]) -> str:
    shown = ", ".join(repr(item) for item in items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def check_prefix_objects(keys: list[str], prefix: str) -> list[str]:
    """Problems with the objects under `prefix` that a manifest URIPrefix would make QuickSight import.

    `keys` are full object keys as a recursive listing returns them (ListObjectsV2 with Prefix=prefix and no
    Delimiter). QuickSight imports every object below a prefix, subfolders included, and every file must be
    data of the same shape. So the prefix must hold data files directly under it and nothing else: no marker
    or checksum files, no subfolders, and not nothing at all. [] means the prefix is fit to point at.
    """
    if prefix and not prefix.endswith("/"):
        return [f"the prefix {prefix!r} must end with '/' (a folder), e.g. {prefix + '/'!r}"]
    problems: list[str] = []
    outside = [key for key in keys if not key.startswith(prefix)]
    if outside:
        problems.append(f"the listing holds keys that are not under {prefix!r}: {_listed(outside)}")
    data: list[str] = []
    subfolders: dict[str, list[str]] = {}
    non_data: dict[str, list[str]] = {}
    for key in keys:
        if not key.startswith(prefix):
            continue
        relative = key[len(prefix) :]
        if relative == "":
            continue  # the zero-byte "folder" object some tools create for the prefix itself
        folder, slash, _ = relative.partition("/")
        if slash:
            subfolders.setdefault(prefix + folder + "/", []).append(key)
            continue
        reason = _non_data_reason(relative)
        if reason is None:
            data.append(key)
        else:
            non_data.setdefault(reason, []).append(key)
    for reason, found in non_data.items():
        noun = "it" if len(found) == 1 else "them"
        problems.append(f"{_listed(found)}: {reason} (QuickSight would import {noun} as data)")
    if subfolders:
        below = [key for found in subfolders.values() for key in found]
        problems.append(
            f"{prefix!r} has subfolders ({_listed(sorted(subfolders))}): QuickSight reads a prefix recursively "
            f"and would import the {len(below)} object(s) in them too, e.g. {below[0]!r}; the job should write "
            "its part files directly under the prefix and nothing below it"
        )
    if not data:
        if not keys:
            problems.append(
                f"nothing is stored under {prefix!r}: the manifest would point at no data (did the job write its "
                "CSV copy there?)"
            )
        else:
            problems.append(f"no data file sits directly under {prefix!r}: the manifest would point at no data")
    return problems


# --- files and the pipeline ------------------------------------------------------------------------------


def manifest_text(doc: dict[str, Any]) -> str:
    """The manifest as written and uploaded: pretty JSON, UTF-8 without a byte-order mark, ending in a newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write_manifest(doc: dict[str, Any], output: Path) -> None:
    """Write `doc` to `output` (parents created) atomically: a reader never sees half a manifest."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(manifest_text(doc))
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def manifest_for(pipeline: Pipeline) -> dict[str, Any]:
    """Render `spec.quicksight.manifest.template` for `pipeline` and check it; raise ManifestError if it breaks a rule.

    The result points at `s3://<bucket>/<data_prefix>` with the pipeline's format, delimiter and header setting.
    """
    settings = pipeline.quicksight.manifest
    if settings is None:
        raise ManifestError(
            f"{pipeline.spec_file}: spec.quicksight.manifest is not declared, so there is no manifest to render",
            hint="declare template, output, key and data_prefix under spec.quicksight.manifest",
        )
    if not settings.key.endswith(".json"):
        raise ManifestError(
            f"spec.quicksight.manifest.key {settings.key!r} must end in '.json': QuickSight only reads a "
            "QuickSight-format manifest from a .json file"
        )
    template_path = settings.template
    if not template_path.is_absolute():
        template_path = pipeline.spec_file.parent / template_path
    try:
        # utf-8-sig: an editor's byte-order mark must not end up in the manifest (QuickSight rejects a BOM).
        text = template_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ManifestError(f"cannot read the manifest template {template_path}: {reason}") from None
    doc = render_manifest(
        text,
        bucket=pipeline.bucket.name,
        data_prefix=settings.data_prefix,
        format=settings.format,
        delimiter=settings.delimiter,
        contains_header=settings.contains_header,
        template_file=str(template_path),
    )
    problems = validate_manifest(doc)
    if problems:
        raise ManifestError(
            f"{template_path}: the rendered manifest breaks QuickSight's rules:\n"
            + "\n".join(f"  {p}" for p in problems),
            hint="fix the template or spec.quicksight.manifest in the pipeline file",
        )
    return doc


def manifest_for_prefixes(pipeline: Pipeline, data_prefixes: Sequence[str]) -> dict[str, Any]:
    """`manifest_for` with several data prefixes (one per published quarter): the template is rendered for
    the first, then the `URIPrefixes` entry that holds it lists them all, in order. ManifestError as there."""
    settings = pipeline.quicksight.manifest
    if settings is None or not data_prefixes:
        return manifest_for(pipeline)
    doc = manifest_for(replace(pipeline, quicksight=replace(pipeline.quicksight, manifest=replace(
        settings, data_prefix=data_prefixes[0]))))  # fmt: skip
    first = f"s3://{pipeline.bucket.name}/{data_prefixes[0]}"
    every = [f"s3://{pipeline.bucket.name}/{prefix}" for prefix in data_prefixes]
    for entry in doc.get("fileLocations", []):
        if isinstance(entry, dict) and entry.get("URIPrefixes") == [first]:
            entry["URIPrefixes"] = every
            break
    else:
        raise ManifestError(
            f"{settings.template}: the template must list ${{uri_prefix}} alone in one URIPrefixes entry, so that "
            "the manifest can name one prefix per published quarter"
        )
    problems = validate_manifest(doc)
    if problems:
        raise ManifestError(
            "the rendered manifest breaks QuickSight's rules:\n" + "\n".join(f"  {p}" for p in problems)
        )
    return doc
