"""Which planned changes widen access (`cdk deploy --require-approval broadening`, for our kinds).

Pure: looks only at the before/after values in a plan. A change *broadens* when, for an existing
resource, it lets more principals do more actions on more resources than before, or removes a guard
(Block Public Access, a Deny statement, default encryption, BucketOwnerEnforced). Creating a resource
is not broadening: there was nothing to compare with, and the plan shows it in its security section.
Nor is giving one of our resources a policy it has none of at all (before is absent): that is the rest of
a create that did not finish (a crash or an AccessDenied between CreateRole and PutRolePolicy), and the
spec's policy was what the create meant; asking again would stop every resumed CI apply. It is still
listed in the security section. Changing or extending an existing policy is judged statement by statement.
"""

from __future__ import annotations

from typing import Any

from reconciler.engine.diff import ADOPT, REPLACE, UPDATE, Change


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


def broadening(changes: list[Change]) -> list[str]:
    """One line per way the plan widens access; empty when it does not."""
    found: list[str] = []
    for change in changes:
        if change.action not in {UPDATE, REPLACE, ADOPT}:
            continue
        for attr in change.attrs:
            where = f"{change.address} {attr.path}"
            if attr.top in {"access_policy", "trust_policy", "policy"} and len(attr.keys) == 1 and attr.before is None:
                continue  # the first policy of a resource that has none: the rest of its create
            if attr.top in {"access_policy", "trust_policy", "policy"} and len(attr.keys) <= 2:
                before = {"Statement": attr.before} if attr.keys[-1] == "Statement" else attr.before
                after = {"Statement": attr.after} if attr.keys[-1] == "Statement" else attr.after
                found += [f"{where}: {reason}" for reason in policy_broadening(before, after)]
            elif attr.top == "public_access_block" and attr.before is not False and attr.after is False:
                found.append(f"{where}: turns a Block Public Access setting off")
            elif attr.top == "public_access_block" and len(attr.keys) == 1 and attr.after is None:
                found.append(f"{where}: removes Block Public Access")
            elif attr.top == "encryption" and attr.after is None:
                found.append(f"{where}: removes default encryption")
            elif attr.top == "object_ownership" and attr.before == "BucketOwnerEnforced":
                found.append(f"{where}: re-enables ACLs ({attr.after})")
    return found
