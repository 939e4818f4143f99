"""Job arguments typed by role: what a value in `spec.jobs[].arguments` lets the job do, decided here once.

- output: a name containing `output` (`--output_path`, ...) and a value that is a location (has '/'; so
  `--output_format: csv` is a setting, not an output). A normalised prefix of the pipeline's bucket,
  clear of the uploads, the job scripts and the tool's own keys (spec/reserved.py); the managed role may
  write exactly these prefixes (resources/role.py).
- input: a name containing `input` (`--input_path`, ...), a location likewise. s3:// in the pipeline's
  bucket, or under an entry of `spec.allow.external_inputs` (the managed role is then granted reads there).
- code: `--scriptLocation`, `--extra-py-files`, `--extra-jars`, `--extra-files`, and the s3:// entries of
  `--additional-python-modules` (its other entries are pip requirement specifiers). s3:// in the pipeline's
  bucket, not under a job output, or under an entry of `spec.allow.external_code`; shown in the plan's
  security section.
- other: everything else, passed as written.

The rules are in spec/storage_checks.py ("job arguments by role").

The code-loading arguments are Glue's own, from AWS Glue "Using job parameters in AWS Glue jobs"
(https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html): `--extra-py-files`
"The Amazon S3 paths to additional Python modules that AWS Glue adds to the Python path", `--extra-jars`
"The Amazon S3 paths to additional files, such as .jar files", `--extra-files` "The Amazon S3 paths to
additional files, such as configuration files", `--scriptLocation` "The Amazon Simple Storage Service
(Amazon S3) location where your ETL script is located", `--additional-python-modules` "A comma delimited
list representing a set of Python packages to be installed" (package names or S3 paths of wheels). The
lists are comma-separated (the same page). Glue reads each with the job's role, and runs what it loads
with the role's rights: code from a bucket someone else controls runs as our role.

Pure: no boto3, no imports from the rest of the tool.
"""

from __future__ import annotations

OUTPUT = "output"
INPUT = "input"
CODE = "code"
OTHER = "other"

#: Glue's code-loading arguments (the page above); True: a comma-separated list
CODE_ARGUMENTS: dict[str, bool] = {
    "--scriptLocation": False,
    "--extra-py-files": True,
    "--extra-jars": True,
    "--extra-files": True,
    "--additional-python-modules": True,
}
#: of CODE_ARGUMENTS, those whose entries may be something other than an S3 path (pip specifiers)
_NON_S3_ALLOWED = frozenset({"--additional-python-modules"})


def is_location(value: str) -> bool:
    """A value that names a place (an URI or a path), not a setting: `--output_format: csv` is no output."""
    return "://" in value or "/" in value


def role_of(name: str, value: str | None = None) -> str:
    """The role of the job argument `name` (with its leading '--') whose value is `value` (when known: an input
    or output name only makes a role of a value that is a location)."""
    if name in CODE_ARGUMENTS:
        return CODE
    if value is not None and not is_location(value):
        return OTHER
    lowered = name.lower()
    if "output" in lowered:
        return OUTPUT
    if "input" in lowered:
        return INPUT
    return OTHER


def locations(name: str, value: str) -> list[str]:
    """The S3 locations a value names: each comma-separated entry of a list argument, else the value; for
    `--additional-python-modules` only its s3:// entries."""
    entries = [e.strip() for e in value.split(",")] if CODE_ARGUMENTS.get(name) else [value]
    if name in _NON_S3_ALLOWED:
        return [e for e in entries if e.lower().startswith("s3://")]
    return entries


def is_security_relevant(name: str) -> bool:
    """Shown in the plan's security section: arguments that load code (where the job writes shows there as
    the role's write statement)."""
    return role_of(name) == CODE
