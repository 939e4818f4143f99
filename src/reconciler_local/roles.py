"""What Glue enforces about a crawler's or job's IAM role, checked against moto's IAM backend.

Three settings (`runtime.Settings`), each off by default outside the test suite:

- `role_resolution`: the Role must resolve to an existing role whose trust policy lets
  `glue.amazonaws.com` call `sts:AssumeRole`. A bare name means `arn:aws:iam::ACCOUNT:role/NAME`, the
  role *without a path*: Glue builds the ARN that way, so a role created under a path must be given as
  its ARN or as `path/name` (terraform-provider-aws PR 6285, "aws_glue_crawler: role with path"; the
  provider's `internal/service/glue/crawler.go` notes "Glue API always returns name" and compares the
  ARN's resource without `role/` to what GetCrawler returns, i.e. `path/name`). `path/name` and full
  ARNs resolve with their path. Otherwise CreateCrawler / UpdateCrawler answer InvalidInputException
  with `ASSUME_ROLE_MESSAGE` (wording: the two messages terraform-provider-aws
  `internal/service/glue/crawler.go` retries, "Service is unable to assume provided role" and "Please
  verify the role's TrustPolicy"), and a job run FAILS with the same text and the role's ARN
  (the job-run wording is *unverified*: AWS documents no ErrorMessage for it).
  Off, a reference is looked up by its name alone, so the other checks still find the role.
- `iam_propagation_seconds`: a role whose creation, trust policy, inline policies or attached managed
  policies changed less than N seconds ago cannot be assumed yet ("Changes that I make are not always
  immediately visible", IAM User Guide, troubleshooting: IAM is eventually consistent). CreateCrawler /
  UpdateCrawler answer `ASSUME_ROLE_MESSAGE`; CreateTrigger answers `TRIGGER_ASSUME_ROLE_MESSAGE` when
  an action names a job or crawler whose role is in the window (terraform-provider-aws
  `internal/service/glue/trigger.go` retries CreateTrigger on "Service is unable to assume role"; which
  role Glue checks for a trigger is *unverified*: we take the roles of the actions' jobs and crawlers);
  job runs starting within the window FAIL with the assume-role message.
- `enforce_role_policies`: every S3 and catalog access a crawl or job run makes is evaluated against the
  role's inline and attached policies with moto's `moto.iam.access_control.IAMPolicy` (no policy engine
  of ours: an explicit Deny wins, else some Allow is needed, as in the IAM User Guide's "Policy
  evaluation logic"). A denial raises `AccessDenied` with AWS's error text: S3's "Access Denied
  (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied)", Glue's "... is not authorized to
  perform: glue:CreateTable on resource: ..." (the form terraform-provider-aws crawler.go quotes). Catalog
  actions need the catalog, the database and the table ARN, as the AWS Glue Developer Guide's
  "Specifying AWS Glue resource ARNs" lists for CreateTable and the other table operations.

Not modelled: permissions boundaries, session policies, service control policies, Lake Formation,
resource policies of the Glue catalog, Condition blocks (moto's evaluator sees no request context, so a
statement with a Condition does not match), and KMS / CloudWatch Logs calls Glue makes for the role.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from reconciler_local.moto_api import IAMBackend, IAMPolicy, PermissionResult, Role, iam_backends
from reconciler_local.patching import graft, original
from reconciler_local.runtime import Settings

GLUE_PRINCIPAL = "glue.amazonaws.com"
ASSUME_ROLE_MESSAGE = "Service is unable to assume provided role. Please verify the role's TrustPolicy."
TRIGGER_ASSUME_ROLE_MESSAGE = "Service is unable to assume role {arn}. Please verify the role's TrustPolicy."
CHANGED_AT = "reconciler_changed_at"  # attribute set on moto's Role: time.monotonic() of its last change

Check = Callable[[str, str], None]  # (action, resource ARN) -> None, or raises AccessDenied


class AccessDenied(Exception):
    """The role may not do this; the message is AWS's error text."""


def no_check(action: str, resource: str) -> None:
    return None


def _iam(account_id: str) -> IAMBackend:
    backend: IAMBackend = iam_backends[account_id]["aws"]
    return backend


def parse_reference(reference: str) -> tuple[str | None, str, str]:
    """(account id from an ARN or None, path, name) of a Role reference: ARN, `path/name` or a bare name
    (which has the path `/`, as Glue reads it)."""
    account: str | None = None
    rest = reference
    if reference.startswith("arn:"):
        parts = reference.split(":", 5)
        if len(parts) < 6 or not parts[5].startswith("role/"):
            return None, "", ""
        account, rest = parts[4], parts[5][len("role/") :]
    *folders, name = rest.strip("/").split("/")
    path = "/" + "".join(f"{folder}/" for folder in folders) if folders else "/"
    return account, path, name


def resolve_role(account_id: str, reference: str | None, strict: bool) -> Role | None:
    """The role `reference` names. Strict: name *and* path must match (a bare name is path `/`), and an
    ARN's account must be ours; lenient: the name alone."""
    if not reference:
        return None
    account, path, name = parse_reference(reference)
    if not name:
        return None
    for role in _iam(account or account_id).get_roles():
        if role.name == name:
            if strict and (role.path != path or (account is not None and account != role.account_id)):
                return None
            return role
    return None


def _document(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    raw = str(text)
    try:
        loaded: dict[str, Any] = json.loads(raw)
    except ValueError:
        loaded = json.loads(urllib.parse.unquote(raw))
    return loaded


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def trusts_glue(role: Role) -> bool:
    """Whether the trust policy has an Allow of sts:AssumeRole (or sts:* / *) for Service
    glue.amazonaws.com (IAM User Guide, "Creating a role to delegate permissions to an AWS service")."""
    try:
        document = _document(role.assume_role_policy_document)
    except ValueError:
        return False
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = _as_list(statement.get("Action"))
        principal = statement.get("Principal")
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions) and (
            GLUE_PRINCIPAL in services or principal == "*"
        ):
            return True
    return False


def recently_changed(role: Role, settings: Settings) -> bool:
    window = float(settings.iam_propagation_seconds)
    changed = getattr(role, CHANGED_AT, None)
    return window > 0 and changed is not None and time.monotonic() - float(changed) < window


def assume_problem(account_id: str, reference: str | None, settings: Settings) -> tuple[bool, str]:
    """(True, the role's ARN or the reference) if Glue could not assume the role now; (False, "") if it can
    (or the settings do not model the check)."""
    role = resolve_role(account_id, reference, strict=bool(settings.role_resolution))
    if role is None:
        return bool(settings.role_resolution), str(reference)
    if settings.role_resolution and not trusts_glue(role):
        return True, role.arn
    if recently_changed(role, settings):
        return True, role.arn
    return False, ""


def role_policies(role: Role) -> list[IAMPolicy]:
    policies = [IAMPolicy(json.dumps(_document(document))) for document in role.policies.values()]
    policies += [IAMPolicy(policy) for policy in role.managed_policies.values()]
    return policies


def role_check(account_id: str, reference: str | None, settings: Settings, session: str) -> Check:
    """A check of the role's policies for every access a crawl or job run makes (`no_check` when
    `enforce_role_policies` is off). A role that cannot be found is `role_resolution`'s business (with it
    on, the crawl or run never gets here): without it, nothing is checked for an unknown role."""
    if not settings.enforce_role_policies:
        return no_check
    role = resolve_role(account_id, reference, strict=bool(settings.role_resolution))
    if role is None:
        return no_check
    policies = role_policies(role)
    who = f"arn:aws:sts::{account_id}:assumed-role/{role.name}/{session}"

    def check(action: str, resource: str) -> None:
        results = [policy.is_action_permitted(action, resource) for policy in policies]
        if PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results:
            return
        if action.startswith("s3:"):
            raise AccessDenied(
                f"Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied): {who} "
                f"may not {action} on {resource}"
            )
        raise AccessDenied(
            f"User: {who} is not authorized to perform: {action} on resource: {resource} "
            "(Service: AWSGlue; Status Code: 400; Error Code: AccessDeniedException)"
        )

    return check


def s3_arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


def catalog_arns(region: str, account_id: str, database: str, table: str | None = None) -> list[str]:
    """The resources a catalog action is authorised on: catalog, database (and table)."""
    prefix = f"arn:aws:glue:{region}:{account_id}"
    arns = [f"{prefix}:catalog", f"{prefix}:database/{database}"]
    if table is not None:
        arns.append(f"{prefix}:table/{database}/{table}")
    return arns


def _touch(backend: IAMBackend, role_name: str) -> None:
    for role in backend.get_roles():
        if role.name == role_name:
            setattr(role, CHANGED_AT, time.monotonic())


class IAMBackendChanges(IAMBackend):
    """Remember when each role last changed (for `iam_propagation_seconds`)."""

    def create_role(self, *args: Any, **kwargs: Any) -> Role:
        role: Role = original(IAMBackend, "create_role")(self, *args, **kwargs)
        setattr(role, CHANGED_AT, time.monotonic())
        return role

    def update_assume_role_policy(self, role_name: str, policy_document: str) -> None:
        original(IAMBackend, "update_assume_role_policy")(self, role_name, policy_document)
        _touch(self, role_name)

    def put_role_policy(self, role_name: str, policy_name: str, policy_json: str) -> None:
        original(IAMBackend, "put_role_policy")(self, role_name, policy_name, policy_json)
        _touch(self, role_name)

    def delete_role_policy(self, role_name: str, policy_name: str) -> None:
        original(IAMBackend, "delete_role_policy")(self, role_name, policy_name)
        _touch(self, role_name)

    def attach_role_policy(self, policy_arn: str, role_name: str) -> None:
        original(IAMBackend, "attach_role_policy")(self, policy_arn, role_name)
        _touch(self, role_name)

    def detach_role_policy(self, policy_arn: str, role_name: str) -> None:
        original(IAMBackend, "detach_role_policy")(self, policy_arn, role_name)
        _touch(self, role_name)


def keep_across_reset(names: list[str]) -> list[Role]:
    """The roles (of every account) named in `names`, to put back after a reset with `restore_roles`. A test
    support of the admin reset route, not an AWS behaviour: a test session creates its Glue role once and
    waits out `iam_propagation_seconds` once, instead of after every reset."""
    if not names:
        return []
    wanted = set(names)
    return [role for account in list(iam_backends) for role in _iam(account).get_roles() if role.name in wanted]


def restore_roles(roles: list[Role]) -> None:
    """Put roles kept by `keep_across_reset` back into the (reset) IAM backend, unchanged: same id, ARN, trust
    policy, inline policies, tags and change time (so a role already propagated stays propagated). Managed policy
    attachments are dropped: the policies themselves did not survive the reset."""
    for role in roles:
        role.managed_policies = {}
        _iam(role.account_id).roles[role.id] = role


def install() -> None:
    graft(IAMBackend, IAMBackendChanges)
