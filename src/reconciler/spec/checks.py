"""Checks of a parsed pipeline document: JSON Schema errors in plain words, then the semantic checks a schema
cannot make (names, cron, ARNs, files on disk, cross references).

Everything here works on the interpolated document (plain dicts and lists) and returns `Finding`s: a path in
the document and a message (spec/findings.py). load.py turns them into located `Problem`s. The storage checks
(S3 paths, the bucket) are in spec/storage_checks.py, the uploads' in spec/upload_checks.py. The semantic
checks are defensive: they skip values of the wrong type, because the schema has already reported those.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.spec import reserved, rules
from reconciler.spec.findings import (
    TYPE_WORDS,
    DocPath,
    Finding,
    as_mapping,
    describe,
    did_you_mean,
    items_of,
    located,
    text_at,
)
from reconciler.spec.notify_checks import notify_findings
from reconciler.spec.quicksight_checks import dataset_findings
from reconciler.spec.schemas import default_at, load_schema
from reconciler.spec.security_configuration_checks import security_configuration_findings
from reconciler.spec.storage_checks import (
    check_allow,
    check_bucket,
    check_crawler_reserved,
    check_output_overlaps,
    check_reads,
    collect_outputs,
    run_argument_problems,
)
from reconciler.spec.upload_checks import UploadIndex, check_uploads, resolve_local, source_path

# re-exported: load.py, manifest.py, manifest_checks.py and the CLI import them from here
__all__ = ["DocPath", "Finding", "describe", "resolve_local", "run_argument_problems", "schema_findings",
           "schema_type_errors", "semantic_findings"]  # fmt: skip

if TYPE_CHECKING:  # jsonschema is imported when a spec is first checked (load.py skips known-valid ones)
    from jsonschema import ValidationError

SCHEMA_FILE = "pipeline.v1.json"


# --- JSON Schema errors in plain words -------------------------------------------------------------------

def _type_message(error: ValidationError, raw: Mapping[DocPath, str], interpolated: AbstractSet[DocPath]) -> str:
    expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    words = " or ".join(TYPE_WORDS.get(str(t), str(t)) for t in expected)
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
        close = did_you_mean(error.instance, [str(v) for v in error.validator_value])
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
            hint = did_you_mean(str(key), allowed) or (f" (allowed here: {', '.join(allowed)})" if allowed else "")
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


# --- the semantic checks, one small function per part of the spec --------------------------------------


def _check_metadata(metadata: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    name = text_at(metadata, "name")
    if name:
        findings += located(("metadata", "name"), rules.pipeline_name_problems(name))
    region = text_at(metadata, "region")
    if region:
        findings += located(("metadata", "region"), rules.region_problems(region))
    for key, value in as_mapping(metadata.get("tags")).items():
        path: DocPath = ("metadata", "tags", key)
        findings += located(path, rules.tag_key_problems(key), at_key=True)
        if isinstance(value, str):
            findings += located(path, rules.tag_value_problems(value))
    return findings


def _check_role(spec: dict[str, Any], region: str | None) -> list[Finding]:
    role = as_mapping(spec.get("role"))
    findings: list[Finding] = []
    arn = text_at(role, "arn")
    if arn is not None:
        findings += located(("spec", "role", "arn"), rules.role_arn_problems(arn, region))
    name = text_at(as_mapping(role.get("managed")), "name")
    if name is not None:
        findings += located(("spec", "role", "managed", "name"), rules.role_name_problems(name))
    return findings


def _check_database(spec: dict[str, Any]) -> list[Finding]:
    name = text_at(as_mapping(spec.get("database")), "name")
    if name is None:
        return []
    return located(("spec", "database", "name"), rules.database_name_problems(name))


def _unique_names(kind: str, section: str, items: list[tuple[int, dict[str, Any]]]) -> list[Finding]:
    findings: list[Finding] = []
    first: dict[str, int] = {}
    for i, item in items:
        name = text_at(item, "name")
        if name is None:
            continue
        path: DocPath = ("spec", section, i, "name")
        findings += located(path, rules.glue_name_problems(name))
        if name in first:
            findings.append(Finding(path, f"{kind} name {name!r} is already used by spec.{section}[{first[name]}]"))
        else:
            first[name] = i
    return findings


def _check_crawlers(spec: dict[str, Any], bucket: str | None) -> list[Finding]:
    crawlers = items_of(spec.get("crawlers"))
    findings = _unique_names("crawler", "crawlers", crawlers)
    for i, crawler in crawlers:
        base: DocPath = ("spec", "crawlers", i)
        targets = crawler.get("targets")
        for t, target in enumerate(targets if isinstance(targets, list) else []):
            if isinstance(target, str):
                findings += located((*base, "targets", t), rules.s3_uri_problems(target, bucket))
        prefix = text_at(crawler, "table_prefix")
        if prefix is not None:
            findings += located((*base, "table_prefix"), rules.table_prefix_problems(prefix))
        schedule = text_at(crawler, "schedule")
        if schedule is not None:
            findings += located((*base, "schedule"), rules.glue_cron_problems(schedule))
        policy = as_mapping(crawler.get("schema_change_policy"))  # the schema's defaults are filled in already
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


def _check_jobs(spec: dict[str, Any], uploads: UploadIndex) -> list[Finding]:
    jobs = items_of(spec.get("jobs"))
    findings = _unique_names("job", "jobs", jobs)
    for i, job in jobs:
        base: DocPath = ("spec", "jobs", i)
        script = text_at(job, "script")
        if script:
            key_problems = rules.object_key_problems(script)
            findings += located((*base, "script"), key_problems)
            if not key_problems and not uploads.produces(script):
                close = did_you_mean(script, sorted(uploads.keys))
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
        for key in as_mapping(job.get("arguments")):
            if not key.startswith("--") or len(key) < 3:
                hint = f" (did you mean {'--' + key.lstrip('-')!r}?)" if key.strip("-") else ""
                findings.append(
                    Finding((*base, "arguments", key), f"argument names must start with '--'{hint}", at_key=True)
                )
    return findings


def _declared_names(spec: dict[str, Any], section: str) -> list[str] | None:
    """Names declared in a section, or None if some entry has no usable name (then references are not checked)."""
    names: list[str] = []
    for _, item in items_of(spec.get(section)):
        name = text_at(item, "name")
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
    workflow = text_at(schedule, "workflow")
    if workflow is not None:
        findings += located((*base, "workflow"), rules.glue_name_problems(workflow))
    cron = text_at(schedule, "cron")
    if cron is not None:
        findings += located((*base, "cron"), rules.glue_cron_problems(cron))
    for field, section in (("crawler", "crawlers"), ("job", "jobs")):
        wanted = text_at(schedule, field)
        declared = _declared_names(spec, section)
        if wanted is None or declared is None or wanted in declared:
            continue
        listed = ", ".join(repr(n) for n in declared) or "none"
        close = did_you_mean(wanted, declared)
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
    manifest = as_mapping(as_mapping(spec.get("quicksight")).get("manifest"))
    base: DocPath = ("spec", "quicksight", "manifest")
    findings: list[Finding] = []
    template = text_at(manifest, "template")
    resolved_template = None
    if template:
        resolved_template, problems = source_path((*base, "template"), template, project_dir, False, "template")
        findings += problems
        if resolved_template is not None and not resolved_template.is_file():
            findings.append(
                Finding((*base, "template"), f"{template!r} is not a file (looked for {resolved_template})")
            )
    output = text_at(manifest, "output")
    if output:
        resolved_output, problems = source_path((*base, "output"), output, project_dir, False, "output")
        findings += problems
        if resolved_output is not None and resolved_output.is_dir():
            findings.append(Finding((*base, "output"), f"{output!r} is a directory; name a file"))
        elif resolved_output is not None and resolved_output == resolved_template:
            findings.append(Finding((*base, "output"), "must not be the template itself"))
    key = text_at(manifest, "key")
    if key:
        findings += located((*base, "key"), rules.object_key_problems(key))
    data_prefix = text_at(manifest, "data_prefix")
    if data_prefix:
        findings += located((*base, "data_prefix"), rules.key_prefix_problems(data_prefix))
    return findings


def semantic_findings(doc: Any, project_dir: Path) -> list[Finding]:
    """Every semantic problem of a (possibly partly schema-invalid) document.

    `project_dir` is the resolved directory of the spec file: relative paths start there and may not leave it.
    """
    if not isinstance(doc, dict):
        return []
    metadata = as_mapping(doc.get("metadata"))
    spec = as_mapping(doc.get("spec"))
    region = text_at(metadata, "region")
    bucket = text_at(as_mapping(spec.get("bucket")), "name")
    output_findings, outputs = collect_outputs(spec, bucket)
    manifest_key = text_at(as_mapping(as_mapping(spec.get("quicksight")).get("manifest")), "key")
    keys = reserved.ReservedIndex(reserved.reserved_keys(outputs.prefixes, manifest_key))
    upload_findings, uploads = check_uploads(spec, project_dir, keys)
    return [
        *_check_metadata(metadata),
        *check_bucket(spec, region),
        *upload_findings,
        *_check_role(spec, region),
        *_check_database(spec),
        *_check_crawlers(spec, bucket),
        *check_crawler_reserved(spec, bucket, keys),
        *_check_jobs(spec, uploads),
        *output_findings,
        *check_output_overlaps(spec, outputs, keys, uploads),
        *check_reads(spec, bucket, outputs),
        *check_allow(spec),
        *_check_schedule(spec),
        *_check_quicksight(spec, project_dir),
        *_check_manifest_key(manifest_key, keys),
        *(Finding(path, message) for path, message in notify_findings(doc)),
        *(Finding(path, message) for path, message in dataset_findings(doc)),
        *(Finding(path, message) for path, message in security_configuration_findings(doc)),
    ]
