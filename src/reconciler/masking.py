"""Secrets never reach an output: the one place that decides what looks secret, by name and by value.

- **By name** (`secret_name`): a job argument (or any key) is secret when one of its words is a secret word
  (`--pwd`, `--auth`, `--db_password`, `--api_token`, `--credentials`, `--client_secret`) or it pairs a key
  word with a qualifier (`--api_key`, `--secret_key`, `--access_key`, `--private_key`). Words are split at
  `-`, `_`, `.` and camelCase, so `--monkey_count`, `--author` or `--s3_key_prefix` are not secret (only
  the whole words count, never a substring). A name ending in `secret_id`, `secret_arn` or `secret_name`
  refers to a Secrets Manager secret and is not masked.
- **By value** (`mask_text`, `mask_value`): in any string, credentials inside a URL
  (`scheme://user:pw@host` -> `scheme://user:****@host`, e.g. `jdbc:postgresql://admin:pw@db/x`) and
  values of the common secret shapes (`SHAPES`: AWS access key ids `AKIA...`/`ASIA...`, an AWS secret
  access key next to its name, GitHub `ghp_...` tokens, Slack `xoxb-`/`xoxp-` tokens, PEM private key
  blocks, JWTs, and long high-entropy strings) are replaced by `****`.

Every output path runs its text through here: the plan (people and `--json`, hence saved plans), run
events, `show`/`history`, error messages and hints, and the run record written to S3. Sources of the
shapes: AWS IAM User Guide, "Unique identifier prefixes" (AKIA: access key, ASIA: temporary access key);
AWS General Reference, "Programmatic access" (a secret access key is 40 characters); GitHub Docs, "About
authentication to GitHub" (token prefixes ghp_, gho_, ghu_, ghs_, ghr_, github_pat_); Slack API docs,
"Token types" (xoxb-, xoxp-); RFC 7468 section 10/11 (PEM "PRIVATE KEY" labels); RFC 7519 (a JWT is three
base64url parts, the first two JSON objects, so they start with `eyJ`).

Pure: no imports from the rest of the tool.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

MASKED = "****"
#: a value masked whole because of its name (the same text as resources/fields.py MASK)
WHOLE = "(sensitive)"

#: words that make a name secret by themselves
SECRET_WORDS = frozenset({
    "password", "passwd", "pass", "pwd", "passphrase", "secret", "secrets", "token", "tokens", "auth",
    "authorization", "credential", "credentials", "creds", "apikey", "privatekey", "secretkey", "accesskey",
    "sessiontoken", "bearer", "cookie",
})  # fmt: skip
#: a word ending like this is secret too ("dbpassword", "apitoken", "clientsecret")
SECRET_SUFFIXES = ("password", "passwd", "token", "secret", "apikey")
#: "key" is secret only after one of these ("--api_key", "--secret_key"; never "--s3_key", "--sort_key")
KEY_QUALIFIERS = frozenset({"api", "access", "secret", "private", "client", "signing", "encryption", "master"})

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def name_words(name: str) -> list[str]:
    """`--dbPassword_v2` -> ["db", "password", "v", "2"]: words at -, _, ., camelCase and digits."""
    return [w.lower() for part in re.split(r"[^A-Za-z0-9]+", name) for w in _WORD.findall(part)]


def secret_name(name: str) -> bool:
    """Whether a value named `name` (a job argument, a tag key) is secret by its name alone."""
    words = name_words(name)
    if len(words) >= 2 and words[-2] == "secret" and words[-1] in {"id", "arn", "name"}:
        return False  # `--db_password_secret_id`: names a Secrets Manager secret, does not hold one
    for i, word in enumerate(words):
        if word in SECRET_WORDS or (len(word) > 4 and word.endswith(SECRET_SUFFIXES)):
            return True
        if word == "key" and i > 0 and words[i - 1] in KEY_QUALIFIERS:
            return True
    return False


# --- by value --------------------------------------------------------------------------------------------

#: scheme://user:password@ (the password may hold '@'; it ends at the last '@' before the host)
_URL_CREDENTIALS = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)(?P<secret>[^\s/]*?)(?=@[^\s@/]*(?:[/\s?#]|$))")
_PEM = re.compile(
    r"(?P<begin>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----)(?P<secret>.*?)"
    r"(?P<end>-----END (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----|\Z)",
    re.DOTALL,
)
_AWS_SECRET_NEAR_NAME = re.compile(
    r"(?P<head>(?:aws_?)?secret_?(?:access_?)?key(?:_?id)?[\"']?\s*[:=]\s*[\"']?)(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
    re.IGNORECASE,
)
SHAPES: dict[str, re.Pattern[str]] = {
    "an AWS access key id": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),
    "a GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    "a Slack token": re.compile(r"\bxox[bpas]-[A-Za-z0-9-]{10,}"),
    "a JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}"),
}
#: candidates for the entropy rule: long runs of base64/base64url characters ('/' ends one: paths are not secrets)
_LONG_TOKEN = re.compile(r"[A-Za-z0-9+=_-]{32,}")
MIN_ENTROPY_BITS = 4.2  # per character; random base64 of 32-40 characters scores 4.5-5.0, English words far less
MAX_FRAGMENT = 3.0  # mean length of the case/digit runs: random base64 about 1.5-2, CamelCase names 4 and more


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def high_entropy(token: str) -> bool:
    """A long token that looks random: upper and lower case letters and digits, not hex (a sha256, an ETag,
    a job run id), and more than MIN_ENTROPY_BITS bits per character."""
    if re.fullmatch(r"(?:jr_)?[0-9a-fA-F-]+", token):
        return False
    has_all = any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)
    # Random text breaks into short fragments at case and digit changes; identifiers (CamelCase words) do not.
    fragments = _WORD.findall(token)
    wordlike = bool(fragments) and sum(map(len, fragments)) / len(fragments) > MAX_FRAGMENT
    return has_all and not wordlike and _entropy(token) > MIN_ENTROPY_BITS


def findings(text: str) -> list[str]:
    """What in `text` looks secret, described ("credentials in a URL", "a GitHub token"): for warnings."""
    found = []
    if _URL_CREDENTIALS.search(text):
        found.append("credentials in a URL")
    if _PEM.search(text):
        found.append("a PEM private key")
    if _AWS_SECRET_NEAR_NAME.search(text):
        found.append("an AWS secret access key")
    found += [what for what, pattern in SHAPES.items() if pattern.search(text)]
    if not found and any(high_entropy(m.group(0)) for m in _LONG_TOKEN.finditer(text)):
        found.append("a long random-looking string")
    return found


def mask_text(text: str) -> str:
    """`text` with every secret-looking part replaced by MASKED (the rest, e.g. a URL's user and host, kept)."""
    if not isinstance(text, str) or len(text) < 16:
        return text  # shorter than any shape below (the shortest, a URL with credentials, is longer)
    text = _PEM.sub(lambda m: f"{m.group('begin')}{MASKED}{m.group('end')}", text)
    text = _URL_CREDENTIALS.sub(lambda m: m.group("head") + (MASKED if m.group("secret") else ""), text)
    text = _AWS_SECRET_NEAR_NAME.sub(lambda m: m.group("head") + MASKED, text)
    for pattern in SHAPES.values():
        text = pattern.sub(MASKED, text)
    return _LONG_TOKEN.sub(lambda m: MASKED if high_entropy(m.group(0)) else m.group(0), text)


def mask_value(value: Any, *, by_name: bool = True) -> Any:
    """`value` (a JSON-like document) with `mask_text` applied to every string in it. Keys stay as they
    are; with `by_name`, the string value of a `--argument` key that is a secret name is masked whole
    (run events, run records and reports; the plan has the field tables for that: engine/plan.py `mask`)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {
            k: WHOLE if by_name and isinstance(k, str) and _masked_whole(k, v) else mask_value(v, by_name=by_name)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_value(v, by_name=by_name) for v in value]
    return value


def _masked_whole(key: str, value: Any) -> bool:
    return key.startswith("--") and secret_name(key) and isinstance(value, str) and value not in {"", MASKED, WHOLE}
