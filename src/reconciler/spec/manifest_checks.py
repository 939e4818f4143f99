"""Whether a QuickSight S3 manifest keeps QuickSight's rules (`validate_manifest`), as plain messages led by
the JSON path. Apart from the rendering (manifest.py) because what a manifest may hold is one question and how
the pipeline fills it another.

What QuickSight documents (user guide, "Supported formats for Amazon S3 manifest files"), and what this
module checks:

- Each `fileLocations` entry lists `URIs` (single objects) or `URIPrefixes` (a bucket or a folder); at least
  one URI or prefix in total.
- URIs: `s3://bucket/key`, `https://s3.amazonaws.com/bucket/key`, `https://bucket.s3.amazonaws.com/key`, and
  the region-qualified `https://s3-<region>.amazonaws.com/bucket/key` and
  `https://bucket.s3-<region>.amazonaws.com/key`. Prefixes take the same shapes, naming a bucket or a folder.
- `globalUploadSettings` is optional. `format`: CSV (default), TSV, CLF, ELF or JSON; Parquet cannot be
  read this way. `delimiter`: ',' for CSV (default), a tab for TSV. `textqualifier`: ' or " (default ").
  `containsHeader`: the string "true" (default) or "false". For JSON files give only `format`; for CLF and
  ELF files only `format` is used.
- Every file a manifest names must have the same format and the same number and type of columns.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, ValidationError

from reconciler.spec import rules
from reconciler.spec.checks import describe
from reconciler.spec.schemas import load_schema

SCHEMA_FILE = "quicksight-manifest.v1.json"

FORMATS = ("CSV", "TSV", "CLF", "ELF", "JSON")
DEFAULT_FORMAT = "CSV"
# The delimiter each delimited format takes ("This must map to the file type specified in the format field").
FORMAT_DELIMITERS = {"CSV": ",", "TSV": "\t"}
# "If you are importing JSON files, then for globalUploadSettings specify format, but not delimiter,
# textqualifier, or containsHeader."
NOT_FOR_JSON = ("delimiter", "textqualifier", "containsHeader")

UNREADABLE_FORMATS = {".parquet": "Parquet", ".orc": "ORC", ".avro": "Avro"}
_UNREADABLE_NAMES = {"PARQUET": "Parquet", "ORC": "ORC", "AVRO": "Avro"}


def _unreadable(name: str) -> str:
    return (
        f"QuickSight cannot read {name} through a manifest (it reads CSV, TSV, CLF, ELF or JSON); point the "
        "manifest at the job's CSV copy (e.g. prepared/aggregated/csv/) with format CSV"
    )


_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
# The S3 endpoint hosts of QuickSight's documented URI forms: path style (`s3.amazonaws.com`,
# `s3-<region>.amazonaws.com`) and virtual-hosted style (`<bucket>.s3...`). The newer dotted form
# `s3.<region>.amazonaws.com` is accepted too, and the China partition's `.amazonaws.com.cn`.
_S3_HOST = re.compile(rf"(?:(?P<bucket>.+)\.)?s3(?:[-.]{_REGION})?\.amazonaws\.com(?:\.cn)?")


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
        for suffix, name in UNREADABLE_FORMATS.items():
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
