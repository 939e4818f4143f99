"""Secrets written into pipeline.yaml: a validation *warning*, never an error, naming the safer ways.

A value is a literal secret when, as written in the file (a `${VAR}` reference removed, the default of a
`${VAR:-default}` kept: that default is written in the file too), it has a secret shape
(`reconciler.masking.findings`: credentials in a URL, an AWS key, a token, a private key, a JWT, a long
random string), or it is the non-empty value of a key whose name is secret (`--db_password: hunter2`).
Such a value would be stored in plain text where the spec goes (Git) and, for a job argument, in the
job's DefaultArguments, which "may be logged" ("Do not pass plaintext secrets as arguments. Retrieve
secrets from a AWS Glue Connection, AWS Secrets Manager or other secret management mechanism if you
intend to keep them within the Job": botocore glue model, CreateJob DefaultArguments).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reconciler.masking import findings, name_words, secret_name

DocPath = tuple[str | int, ...]

_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-(?P<default>[^}]*))?\}")


def as_written(raw: str) -> str:
    """The literal part of a scalar as written: `${VAR}` removed, a `${VAR:-default}` replaced by its default."""
    return _REFERENCE.sub(lambda m: m.group("default") or "", raw)


#: names the shell itself sets: never suggested (`${PWD}` is the working directory)
_SHELL_NAMES = frozenset({"PWD", "HOME", "PATH", "USER", "SHELL", "TOKEN"})


def env_name(key: str) -> str:
    """`--db_password` -> `DB_PASSWORD`: the environment variable a warning suggests (`--pwd` -> `JOB_PWD`)."""
    name = "_".join(w.upper() for w in name_words(key)) or "SECRET"
    return f"JOB_{name}" if name in _SHELL_NAMES else name


def safer_ways(key: str | None) -> str:
    if key is not None and key.startswith("--"):
        return (
            f"read it from the environment instead ({key}: ${{{env_name(key)}}}; it still reaches Glue's "
            f"DefaultArguments in plain text), or better keep it in AWS Secrets Manager and pass only its id "
            f"({key.rstrip('_-')}_secret_id: <secret name>) for the job to read with GetSecretValue"
        )
    return "read it from the environment instead (${NAME}), or keep it in AWS Secrets Manager and refer to its id"


def literal_secret_findings(value: Any, raw: Mapping[DocPath, str], path: DocPath = ()) -> list[tuple[DocPath, str]]:
    """(path, message) for every string in the document `value` that holds a literal secret."""
    out: list[tuple[DocPath, str]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            out += literal_secret_findings(item, raw, (*path, str(key)))
        return out
    if isinstance(value, list):
        for index, item in enumerate(value):
            out += literal_secret_findings(item, raw, (*path, index))
        return out
    if not isinstance(value, str):
        return out
    literal = as_written(raw.get(path, value))
    if not literal.strip():
        return out
    key = str(path[-1]) if path and isinstance(path[-1], str) else None
    shapes = findings(literal)
    if shapes:
        what = " and ".join(shapes)
    elif key is not None and secret_name(key) and not literal.startswith(("arn:", "s3://")):
        what = f"a secret by its name ({key})"
    else:
        return out
    out.append((path, f"warning: {what} is written into the spec in plain text; {safer_ways(key)}"))
    return out
