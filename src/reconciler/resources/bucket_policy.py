"""The bucket's TLS-only policy and how policies are compared: pure functions (resources/bucket.py applies
them; engine/plan.py warns when the endpoint is plain http)."""

from __future__ import annotations

import functools
import json
import urllib.request
from typing import Any


def tls_only_policy(bucket: str, partition: str = "aws") -> dict[str, Any]:
    arn = f"arn:{partition}:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


#: What a plan says when it leaves the TLS-only statement out (bucket.tls_policy_applies).
PLAIN_HTTP_WARNING = (
    "the endpoint {url} is plain http:// and not the embedded local endpoint: the bucket gets no TLS-only "
    "policy (it would deny every request this tool sends over http, aws:SecureTransport is false); "
    "against AWS or any https:// endpoint it is always applied"
)


@functools.lru_cache(maxsize=16)
def is_embedded_endpoint(url: str) -> bool:
    """Our local endpoint answers GET /_reconciler/health with {"status": "ok", "pid": ...}
    (reconciler_local/admin.py); moto's own server, LocalStack and the rest do not."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/_reconciler/health", timeout=5) as answer:
            body = json.loads(answer.read() or b"{}")
    except (OSError, ValueError):
        return False
    return isinstance(body, dict) and body.get("status") == "ok" and "pid" in body


def tls_policy_applies(endpoint_url: str | None) -> bool:
    """The TLS-only statement (Condition aws:SecureTransport false -> Deny) always applies on AWS and on
    https://. On a plain http:// endpoint every request is "insecure transport" (IAM User Guide, condition
    key aws:SecureTransport), so the statement would lock this tool out of its own bucket wherever the
    endpoint evaluates bucket policies; our embedded endpoint keeps it (it is what AWS gets)."""
    if not endpoint_url or not endpoint_url.lower().startswith("http://"):
        return True
    return is_embedded_endpoint(endpoint_url)


def normalise_policy(policy: Any) -> Any:
    """Policies come back as JSON text with AWS's own spacing, and a one-item list may come back as
    a bare string: compare them parsed, with lists sorted and single values as lists."""
    if isinstance(policy, str):
        policy = json.loads(policy)
    return _canonical(policy)


_LIST_KEYS = {"Action", "NotAction", "Resource", "NotResource"}


def _canonical(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v, k) for k, v in value.items()}
    if isinstance(value, str) and key in _LIST_KEYS:
        return [value]
    if isinstance(value, list):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value
