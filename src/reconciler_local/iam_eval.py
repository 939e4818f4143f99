"""Identity-policy evaluation as IAM does it, for the operator's (and a job role's) requests (`enforce_iam`).

moto's `IAMPolicyStatement` matches actions case-sensitively, ignores NotResource, and treats a Condition
whose key the request lacks as an explicit *Deny*; IAM does none of that. This evaluator follows the IAM
User Guide:
- "Policy evaluation logic": an explicit Deny in any policy wins; otherwise an Allow is needed;
- "IAM JSON policy elements: Action": action names are case-insensitive, `*` and `?` are wildcards;
  NotAction / NotResource match everything except the listed values;
- "IAM JSON policy elements: Resource": ARNs are case-sensitive, `*` and `?` wildcards within a segment
  (matched here across segments, as IAM does for `*` in the resource part);
- "IAM JSON policy elements: Condition operators": String*, Arn*, Bool, Null, the `...IfExists` suffix
  ("If the policy key is not present in the request context, the condition evaluates to true") and the
  set operators `ForAnyValue:` / `ForAllValues:`. A condition on a key the request does not carry is
  false (except Null, IfExists and ForAllValues), so the statement does not apply; all conditions of a
  statement must hold, a key with several values matches any of them. Condition keys are case-insensitive.

Not modelled: resource-based policies other than what moto checks itself, permissions boundaries, SCPs,
session policies, policy variables (`${aws:username}`), the Numeric/Date/IpAddress operators (a statement
using one does not apply).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import Enum
from functools import lru_cache
from typing import Any


class Result(Enum):
    ALLOW = "allow"
    DENY = "deny"
    NEUTRAL = "neutral"


Context = Mapping[str, Sequence[str]]


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _matches(patterns: list[str], value: str, ignore_case: bool) -> bool:
    return any(_glob(p, ignore_case).match(value) for p in patterns)


def _compare(operator: str, expected: list[str], actual: str) -> bool:
    base = operator
    if base in ("StringEquals", "ArnEquals"):
        return actual in expected
    if base == "StringEqualsIgnoreCase":
        return actual.lower() in (e.lower() for e in expected)
    if base in ("StringLike", "ArnLike"):
        return _matches(expected, actual, ignore_case=False)
    if base == "Bool":
        return actual.lower() in (e.lower() for e in expected)
    raise KeyError(operator)


_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


def _condition_holds(operator: str, key: str, expected_raw: Any, context: Context) -> bool:
    lowered = {k.lower(): v for k, v in context.items()}
    values = list(lowered.get(key.lower(), ()))
    expected = _listed(expected_raw)
    qualifier = ""
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    if operator == "Null":
        want_null = expected[0].lower() == "true" if expected else True
        return (not values) == want_null
    if not values:
        return if_exists or qualifier == "ForAllValues" or (operator in _NEGATED and qualifier != "ForAnyValue")
    negated = operator in _NEGATED
    positive = _NEGATED.get(operator, operator)
    try:
        hits = [_compare(positive, expected, v) for v in values]
    except KeyError:
        return False  # an operator we do not model: the statement does not apply
    if qualifier == "ForAllValues":
        return all(not h for h in hits) if negated else all(hits)
    if negated:
        return not any(hits)
    return any(hits)


def _statement(statement: Mapping[str, Any], action: str, resource: str, context: Context) -> Result:
    if "NotAction" in statement:
        if _matches(_listed(statement["NotAction"]), action, ignore_case=True):
            return Result.NEUTRAL
    elif not _matches(_listed(statement.get("Action")), action, ignore_case=True):
        return Result.NEUTRAL
    if "NotResource" in statement:
        if _matches(_listed(statement["NotResource"]), resource, ignore_case=False):
            return Result.NEUTRAL
    elif not _matches(_listed(statement.get("Resource")), resource, ignore_case=False):
        return Result.NEUTRAL
    for operator, block in (statement.get("Condition") or {}).items():
        for key, expected in (block or {}).items():
            if not _condition_holds(operator, key, expected, context):
                return Result.NEUTRAL
    return Result.DENY if statement.get("Effect") == "Deny" else Result.ALLOW


def evaluate(documents: Sequence[Mapping[str, Any]], action: str, resource: str, context: Context) -> Result:
    """The decision of identity policies `documents` for one action on one resource."""
    allowed = False
    for document in documents:
        statements = document.get("Statement") or []
        for statement in statements if isinstance(statements, list) else [statements]:
            result = _statement(statement, action, resource, context)
            if result is Result.DENY:
                return Result.DENY
            allowed = allowed or result is Result.ALLOW
    return Result.ALLOW if allowed else Result.NEUTRAL
