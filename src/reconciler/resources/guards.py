"""How a change of a security field widens access: the `widens` rules the field tables name.

Pure: each rule looks at one changed value (its keys below the kind's attributes, before, after) and returns
one reason per way it widens access. engine/security.py runs them over a plan (`broadening`).
"""

from __future__ import annotations

from typing import Any

from reconciler.resources.fields import Widens


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _grants(policy: Any, effect: str) -> set[tuple[str, str, str]]:
    """(principal, action, resource) triples the policy's statements of `effect` cover."""
    triples: set[tuple[str, str, str]] = set()
    if not isinstance(policy, dict):
        return triples
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != effect:
            continue
        principal = statement.get("Principal", "")
        principals = [str(principal)] if not isinstance(principal, dict) else [
            f"{kind}:{p}" for kind, ps in sorted(principal.items()) for p in _as_list(ps)
        ]  # fmt: skip
        for who in principals or [""]:
            for action in _as_list(statement.get("Action")):
                for resource in _as_list(statement.get("Resource")) or ["*"]:
                    triples.add((who, str(action), str(resource)))
    return triples


def policy_broadening(before: Any, after: Any) -> list[str]:
    added = sorted(_grants(after, "Allow") - _grants(before, "Allow"))
    removed_denies = sorted(_grants(before, "Deny") - _grants(after, "Deny"))
    reasons = [f"allows {a} on {r}" + (f" to {p}" if p else "") for p, a, r in added]
    reasons += [f"no longer denies {a} on {r}" for _, a, r in removed_denies]
    return reasons


def policy_tightening(before: Any, after: Any) -> list[str]:
    """The other direction of `policy_broadening`: grants the new policy no longer allows, denies it adds."""
    removed = sorted(_grants(before, "Allow") - _grants(after, "Allow"))
    added_denies = sorted(_grants(after, "Deny") - _grants(before, "Deny"))
    reasons = [f"no longer allows {a} on {r}" + (f" to {p}" if p else "") for p, a, r in removed]
    reasons += [f"denies {a} on {r}" for _, a, r in added_denies]
    return reasons


def as_policy(keys: tuple[str, ...], value: Any) -> Any:
    """A changed value of a policy field as a whole document: the document itself, or (when only its
    statements changed) the statement list wrapped in one."""
    return {"Statement": value} if keys[-1] == "Statement" else value


def policy_document(keys: tuple[str, ...], before: Any, after: Any) -> list[str]:
    """A policy document, judged statement by statement. Giving a resource a policy it has none of at all
    (before is absent) is not broadening: that is the rest of a create that did not finish (a crash or an
    AccessDenied between CreateRole and PutRolePolicy), and the spec's policy was what the create meant."""
    if len(keys) == 1 and before is None:
        return []
    if len(keys) > 2:
        return []
    return policy_broadening(as_policy(keys, before), as_policy(keys, after))


def flags_guard(removed: str, turned_off: str) -> Widens:
    """A mapping of true/false guards (Block Public Access): removing it, or turning one off, widens access."""

    def rule(keys: tuple[str, ...], before: Any, after: Any) -> list[str]:
        if before is not False and after is False:
            return [turned_off]
        if len(keys) == 1 and after is None:
            return [removed]
        return []

    return rule


def removal_guard(message: str) -> Widens:
    """A setting whose removal widens access (default encryption)."""

    def rule(keys: tuple[str, ...], before: Any, after: Any) -> list[str]:
        return [message] if after is None else []

    return rule


def leaving_guard(guarded: Any, message: str) -> Widens:
    """A setting whose guarded value, once left, widens access (BucketOwnerEnforced); `{after}` is filled in."""

    def rule(keys: tuple[str, ...], before: Any, after: Any) -> list[str]:
        return [message.format(after=after)] if before == guarded else []

    return rule
