"""The QuickSight S3 manifest: render it from a template, write it, and derive it for the pipeline. Its checks
against QuickSight's rules are manifest_checks.py, the check of the data behind a prefix manifest_data.py: the
rendering is what `run`, `promote` and `apply` converge, the checks are what it must pass.

What QuickSight documents (user guide, "Supported formats for Amazon S3 manifest files"), and what this
module relies on:

- A QuickSight-format manifest is `{"fileLocations": [...], "globalUploadSettings": {...}}` in a file whose
  name ends in `.json`. Each `fileLocations` entry lists `URIs` (single objects) or `URIPrefixes` (a bucket
  or a folder).
- `globalUploadSettings` is optional; its `format` is CSV by default. For JSON files give only `format`.

The rendered manifest is written to `spec.quicksight.manifest.output` and uploaded to
`spec.quicksight.manifest.key` beside the data. It is derived from the publish pointer (pointer.py): one
URIPrefix per published quarter, each the CSV prefix of that quarter's published run
(`manifest_for_prefixes`), converged by every `run`, `promote` and `apply`.
- Limits (same page): no file above 1 GB, at most 10 GB and 1,000 files in all. converge.py refuses to
  publish a run that would take the manifest past them (`check_manifest_limits`).
"""

from __future__ import annotations

import difflib
import json
import os
import string
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.errors import ManifestError
from reconciler.spec.checks import describe
from reconciler.spec.manifest_checks import DEFAULT_FORMAT, NOT_FOR_JSON, validate_manifest
from reconciler.spec.model import Pipeline

# Placeholders a template may use (stdlib string.Template: `${name}`; a literal '$' is written '$$').
PLACEHOLDERS = ("uri_prefix", "format", "delimiter", "contains_header")
# Without this one the manifest would not point at the pipeline's data: a template must use it.
REQUIRED_PLACEHOLDERS = ("uri_prefix",)


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
