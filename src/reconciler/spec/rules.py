"""Pure value rules a JSON Schema cannot express: each takes one value and returns messages (empty = valid).

Messages are fragments that follow the field path, e.g. "spec.bucket.name: must not contain '..'".
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from datetime import datetime

from reconciler.spec import cron, regions

#: The ARN partitions, from botocore's partition data (spec/regions.py).
PARTITIONS = regions.known_partitions()

# --- helpers ---------------------------------------------------------------------------------------------


def _quote_all(chars: Iterable[str]) -> str:
    return ", ".join(repr(c) for c in sorted(set(chars)))


def _shorten(text: str, limit: int = 60) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


_MAX_NAMED = 5


def char_name(char: str) -> str:
    """A character, its code point and its Unicode name (e.g. "(U+0435 CYRILLIC SMALL LETTER IE)" after it), for
    messages about characters people cannot tell apart."""
    return f"{char!r} (U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED CHARACTER')})"


def non_ascii_problems(name: str) -> list[str]:
    """Names a person can tell apart: every name is printable ASCII, so no two different names look the same
    (a Cyrillic U+0435 for the 'e' of `hostile-prepare`, fullwidth letters, invisible joiners). This is stricter
    than AWS for Glue names (Glue accepts any single-line Unicode text) and is the highest restriction level of
    Unicode TR39, "Unicode Security Mechanisms" section 5.2: ASCII-Only."""
    found: list[str] = []
    for char in name:
        if not 0x20 <= ord(char) <= 0x7E and not is_control(char) and char not in found:
            found.append(char)
    if not found:
        return []
    listed = ", ".join(char_name(c) for c in found[:_MAX_NAMED]) + (" and more" if len(found) > _MAX_NAMED else "")
    return [f"must be ASCII so that names that look alike are the same name: found {listed}"]


def _ascii_only(chars: Iterable[str]) -> list[str]:
    """The characters of `chars` that non_ascii_problems does not already report."""
    return [c for c in chars if 0x20 <= ord(c) <= 0x7E or is_control(c)]


# --- S3 ----------------------------------------------------------------------------------------------------

_BUCKET_CHARS = frozenset(string.ascii_lowercase + string.digits + ".-")
_BUCKET_EDGE = frozenset(string.ascii_lowercase + string.digits)
_IP_SHAPED = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
# Reserved by S3 for access points, Outposts, directory buckets, table buckets and documentation examples.
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problems(name: str) -> list[str]:
    """S3 general purpose bucket naming rules (Amazon S3 User Guide, "General purpose bucket naming rules",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)."""
    problems: list[str] = []
    if not 3 <= len(name) <= 63:
        problems.append(f"must be 3-63 characters long (got {len(name)})")
    problems += non_ascii_problems(name)
    bad = _ascii_only(c for c in name if c not in _BUCKET_CHARS)
    if bad:
        problems.append(f"may only contain lowercase letters, digits, '.' and '-' (found {_quote_all(bad)})")
    if name and name[0] not in _BUCKET_EDGE:
        problems.append("must start with a lowercase letter or a digit")
    if name and name[-1] not in _BUCKET_EDGE:
        problems.append("must end with a lowercase letter or a digit")
    if ".." in name:
        problems.append("must not contain '..'")
    if _IP_SHAPED.fullmatch(name):
        problems.append("must not be shaped like an IP address")
    for prefix in _BUCKET_RESERVED_PREFIXES:
        if name.startswith(prefix):
            problems.append(f"must not start with {prefix!r} (reserved by S3)")
    for suffix in _BUCKET_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            problems.append(f"must not end with {suffix!r} (reserved by S3)")
    return problems


_MAX_KEY_BYTES = 1024


def _key_common_problems(key: str, body: str) -> list[str]:
    problems: list[str] = []
    if key.startswith("/"):
        problems.append("must not start with '/' (S3 keys have no leading slash)")
    segments = body.split("/")
    if key.startswith("/"):
        segments = segments[1:]
    if any(segment == "" for segment in segments):
        problems.append("must not contain an empty segment ('//')")
    if any(segment in (".", "..") for segment in segments):
        problems.append("must not contain '.' or '..' segments")
    if any(is_control(c) for c in key):
        problems.append("must not contain control characters")
    if len(key.encode("utf-8", "surrogatepass")) > _MAX_KEY_BYTES:
        problems.append(f"must be at most {_MAX_KEY_BYTES} bytes long")
    return problems


def key_prefix_problems(prefix: str) -> list[str]:
    """A key prefix: "" (the bucket root) or "a/b/"."""
    if prefix == "":
        return []
    problems: list[str] = []
    if not prefix.endswith("/"):
        problems.append(f"must be empty or end with '/' (did you mean {prefix + '/'!r}?)")
        body = prefix
    else:
        body = prefix[:-1]
    if prefix == "/":
        return ["must not be '/': write \"\" for the bucket root"]
    return problems + _key_common_problems(prefix, body)


def object_key_problems(key: str) -> list[str]:
    """A full object key, such as a job script's."""
    if key == "":
        return ["must not be empty"]
    if key.endswith("/"):
        return [f"must name an object, not a prefix ending with '/' (got {_shorten(key)})"]
    return _key_common_problems(key, key)


def s3_uri_problems(uri: str, bucket: str | None) -> list[str]:
    """A crawler target: s3://<bucket>[/<prefix>], inside the declared bucket when it is known."""
    if not uri.startswith("s3://"):
        return [f"must be an S3 URI like s3://<bucket>/<prefix>/ (got {_shorten(uri)})"]
    rest = uri[len("s3://") :]
    target_bucket, _, key = rest.partition("/")
    if target_bucket == "":
        return [f"names no bucket (got {_shorten(uri)})"]
    if bucket is not None and target_bucket != bucket:
        return [
            f"must lie inside the declared bucket {bucket!r} (got bucket {target_bucket!r}); "
            "crawlers may only read the pipeline's own bucket"
        ]
    if key == "":
        return []
    return _key_common_problems(key, key[:-1] if key.endswith("/") else key)


# --- Glue --------------------------------------------------------------------------------------------------


def _is_single_line_char(char: str) -> bool:
    # Glue's "single-line string" pattern: [\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]
    code = ord(char)
    return char == "\t" or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000


def glue_name_problems(name: str) -> list[str]:
    """Crawler, job, trigger and workflow names: Glue's NameString (botocore glue model, service-2.json:
    1-255 characters of the single-line pattern above), and printable ASCII only (non_ascii_problems), with no
    tab and no space at either end, so that two names that look the same are the same."""
    problems: list[str] = []
    if not 1 <= len(name) <= 255:
        problems.append(f"must be 1-255 characters long (got {len(name)})")
    bad = [c for c in name if not _is_single_line_char(c)]
    if bad:
        problems.append(f"must be a single line without control characters (found {_quote_all(bad)})")
    problems += non_ascii_problems(name)
    if "\t" in name:
        problems.append("must not contain a tab (it looks like spaces)")
    if name != name.strip(" "):
        problems.append("must not start or end with a space")
    return problems


_CATALOG_CHARS = frozenset(string.ascii_lowercase + string.digits + "_")


def database_name_problems(name: str) -> list[str]:
    problems: list[str] = []
    if not 1 <= len(name) <= 255:
        problems.append(f"must be 1-255 characters long (got {len(name)})")
    problems += non_ascii_problems(name)
    bad = _ascii_only(c for c in name if c not in _CATALOG_CHARS)
    if bad:
        problems.append(f"may only contain lowercase letters, digits and '_' (found {_quote_all(bad)})")
    return problems


def table_prefix_problems(prefix: str) -> list[str]:
    problems: list[str] = []
    if len(prefix) > 128:
        problems.append(f"must be at most 128 characters long (got {len(prefix)})")
    problems += non_ascii_problems(prefix)
    bad = _ascii_only(c for c in prefix if c not in _CATALOG_CHARS)
    if bad:
        problems.append(f"may only contain lowercase letters, digits and '_' (found {_quote_all(bad)})")
    return problems


# Worker types the Glue API accepts that do not run a Spark batch job.
def worker_type_version_problem(worker_type: str, glue_version: str) -> str | None:
    """`Standard` is no worker type of a Spark job from Glue 5.0 on. botocore's CreateJob
    `WorkerType` documentation lists only G.025X, G.1X, G.2X, G.4X, G.8X, G.12X, G.16X and R.*X "for Spark
    jobs" (Standard belongs to the older capacity model). AWS refuses it on 5.x; for 4.0 it stays
    accepted (*unverified* either way for 4.0: existing 4.0 jobs may carry it)."""
    if worker_type == "Standard" and glue_version.split(".", 1)[0].isdigit() and int(glue_version.split(".")[0]) >= 5:
        return f"worker type Standard is not valid for a Spark job on Glue {glue_version}: use G.1X (1 DPU per worker)"
    return None


WORKER_TYPE_REFUSALS = {
    "G.025X": "G.025X is only for Glue streaming jobs; a Spark batch job needs G.1X or larger",
    "Z.2X": "Z.2X is only for Glue Ray jobs; this reconciler creates Spark jobs (use G.1X or larger)",
}


# --- IAM and KMS -------------------------------------------------------------------------------------------

_ROLE_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "+=,.@_-")
_ACCOUNT = re.compile(r"\d{12}")


def role_name_problems(name: str) -> list[str]:
    """IAM role names: botocore iam model `roleNameType` (1-64, pattern `[\\w+=,.@-]+`); the IAM API reference,
    CreateRole RoleName: "upper and lowercase alphanumeric characters with no spaces. You can also include any
    of the following characters: _+=,.@-"."""
    problems: list[str] = []
    if not 1 <= len(name) <= 64:
        problems.append(f"must be 1-64 characters long (got {len(name)})")
    problems += non_ascii_problems(name)
    bad = _ascii_only(c for c in name if c not in _ROLE_NAME_CHARS)
    if bad:
        problems.append(f"may only contain letters, digits and + = , . @ _ - (found {_quote_all(bad)})")
    return problems


def partition_of_region(region: str) -> str | None:
    """The ARN partition of a region from botocore's partition data (regions.partition_of: eusc-* is aws-eusc,
    the ISO regions aws-iso*), or None when no partition claims it."""
    return regions.partition_of(region)


def _arn_head_problems(parts: list[str], service: str, region: str | None, want_region: bool) -> list[str]:
    problems: list[str] = []
    _, partition, arn_service, arn_region, account = parts[:5]
    if partition not in PARTITIONS:
        problems.append(f"partition must be one of {', '.join(PARTITIONS)} (got {partition!r})")
    elif region is not None:
        expected = partition_of_region(region)
        if expected is not None and partition != expected:
            problems.append(f"partition {partition!r} does not match region {region!r} (expected {expected!r})")
    if arn_service != service:
        problems.append(f"must be a {service} ARN (got service {arn_service!r})")
    if want_region and region is not None and arn_region != region:
        problems.append(f"must be in the pipeline's region {region!r} (got {arn_region!r})")
    if not want_region and arn_region != "":
        problems.append(f"{service.upper()} ARNs have no region (got {arn_region!r})")
    if not _ACCOUNT.fullmatch(account):
        problems.append(f"account must be 12 digits (got {account!r})")
    return problems


def role_arn_problems(arn: str, region: str | None = None) -> list[str]:
    """arn:aws(-cn|-us-gov)?:iam::<12 digits>:role/[path/]name."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return [f"must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME (got {_shorten(arn)})"]
    problems = _arn_head_problems(parts, "iam", region, want_region=False)
    resource = parts[5]
    if not resource.startswith("role/"):
        problems.append(f"must name a role (...:role/NAME), got {_shorten(resource)}")
        return problems
    path, _, name = resource[len("role/") :].rpartition("/")
    problems.extend(f"role name {p}" for p in role_name_problems(name))
    if path and (len(path) > 510 or any(not 0x21 <= ord(c) <= 0x7E for c in path)):
        problems.append("role path may only contain printable ASCII characters (at most 512)")
    return problems


def kms_key_arn_problems(arn: str, region: str | None = None) -> list[str]:
    """arn:<partition>:kms:<region>:<account>:key/<id> or ...:alias/<name>."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return [
            "must be a KMS key ARN like arn:aws:kms:eu-central-1:123456789012:key/<id> "
            f"or an alias ARN (...:alias/<name>) (got {_shorten(arn)})"
        ]
    problems = _arn_head_problems(parts, "kms", region, want_region=True)
    resource = parts[5]
    kind, _, ident = resource.partition("/")
    if kind not in ("key", "alias") or not ident:
        problems.append(f"must end with key/<id> or alias/<name> (got {_shorten(resource)})")
    return problems


# --- metadata ----------------------------------------------------------------------------------------------

_REGION = re.compile(r"[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}")  # eusc-de-east-1: four letters (partitions.json)
_PIPELINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_TAG_EXTRA = frozenset("_.:/=+-@")


def region_problems(region: str) -> list[str]:
    """The shape first, then botocore's partition data (spec/regions.py), with a did-you-mean."""
    if not _REGION.fullmatch(region):
        return [f"must look like an AWS region, e.g. eu-central-1 (got {_shorten(region)})"]
    return regions.region_problems(region)


def pipeline_name_problems(name: str) -> list[str]:
    if _PIPELINE_NAME.fullmatch(name):
        return []
    if non_ascii_problems(name):
        return non_ascii_problems(name)
    return [f"must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or a digit (got {_shorten(name)})"]


def _bad_tag_chars(text: str) -> list[str]:
    return [c for c in text if not (c.isalnum() or unicodedata.category(c).startswith("Z") or c in _TAG_EXTRA)]


def tag_key_problems(key: str) -> list[str]:
    problems: list[str] = []
    if not 1 <= len(key) <= 128:
        problems.append(f"tag keys must be 1-128 characters long (got {len(key)})")
    lowered = key.lower()
    if lowered.startswith("aws:"):
        problems.append("tag keys starting with 'aws:' are reserved by AWS")
    if lowered.startswith("reconciler:"):
        problems.append("tag keys starting with 'reconciler:' are reserved: the reconciler sets them itself")
    bad = _bad_tag_chars(key)
    if bad:
        problems.append(
            f"tag keys may only contain letters, digits, spaces and _ . : / = + - @ (found {_quote_all(bad)})"
        )
    return problems


def tag_value_problems(value: str) -> list[str]:
    bad = _bad_tag_chars(value)
    if bad:
        return [f"tag values may only contain letters, digits, spaces and _ . : / = + - @ (found {_quote_all(bad)})"]
    return []


# --- Glue cron ---------------------------------------------------------------------------------------------

MIN_SCHEDULE_MINUTES = cron.MIN_SCHEDULE_MINUTES


def glue_cron_problems(expression: str, now: datetime | None = None) -> list[str]:
    """Glue cron: cron(Minutes Hours Day-of-month Month Day-of-week Year), UTC; the rules are in spec/cron.py.
    A schedule that can never fire after `now` (default: the current time) is refused too."""
    return cron.cron_problems(expression, now)
