"""A crawl Lake Formation refused: the cause and the grant that fixes it, in the run's error.

Lake Formation's initial settings give every new Glue database IAM-only access ("Use only IAM access control",
Lake Formation Developer Guide, "Changing the default settings for your data lake"). An account whose data lake
settings were changed governs new databases with Lake Formation permissions instead, and the database our apply
creates is then not usable by the crawler's role through its IAM policy alone: the crawl fails with
"Insufficient Lake Formation permission(s) on <database>". The documented fix is to "grant the crawler role access
permissions (Create, Describe, Alter) on the database, which is specified as the output database" (AWS Glue
Developer Guide, "Crawler errors when the crawler is using Lake Formation permissions").

The apply does not set `CreateTableDefaultPermissions` on CreateDatabase instead: that list only seeds the
permissions of the *tables* later created in the database (Glue API reference, DatabaseInput: "Creates a set of
default permissions on the table for principals. Used by Lake Formation."), while the crawler is refused on the
database itself. Granting on the database is Lake Formation's business (a data lake administrator's), so the
run says what to grant and to whom. docs/lake-formation.md says the same for people.
"""

from __future__ import annotations

import json

from reconciler.aws.cli_command import aws_cli
from reconciler.aws.context import AwsContext
from reconciler.errors import AwsError

#: the start of the crawl's ErrorMessage when Lake Formation refused it ("... permission(s) on <database>")
LAKE_FORMATION_REFUSAL = "insufficient lake formation permission"
#: the database permissions the Glue guide names for the crawler's role: Create (table), Describe, Alter
CRAWLER_GRANTS = ("CREATE_TABLE", "DESCRIBE", "ALTER")


def role_arn(ctx: AwsContext, role: str) -> str:
    """A crawler's Role as Glue returns it (an ARN, or `path/name` as we create it) as an ARN."""
    if role.startswith("arn:"):
        return role
    return f"arn:{ctx.partition}:iam::{ctx.account_id}:role/{role.lstrip('/')}"


def explain_refused_crawl(ctx: AwsContext, crawler: str, message: str) -> tuple[str, str] | None:
    """(cause, hint) when the crawl's `message` is Lake Formation's refusal, else None."""
    if LAKE_FORMATION_REFUSAL not in message.lower():
        return None
    try:
        found = ctx.call("glue", "get_crawler", Name=crawler)["Crawler"]
    except AwsError:
        return None  # without the crawler's database and role there is no grant to name: the message as it is
    database, role = str(found.get("DatabaseName") or ""), str(found.get("Role") or "")
    if not database or not role:
        return None
    cause = (
        f"Lake Formation governs database {database!r} (the account's data lake settings give new databases no "
        "IAM-only access) and the crawler's role has no Lake Formation permission on it"
    )
    grant = aws_cli(
        ctx, "lakeformation", "grant-permissions",
        "--principal", f"DataLakePrincipalIdentifier={role_arn(ctx, role)}",
        "--permissions", *CRAWLER_GRANTS,
        "--resource", json.dumps({"Database": {"Name": database}}, separators=(",", ":")),
    )  # fmt: skip
    fix = "as a Lake Formation data lake administrator, grant it, then run again (docs/lake-formation.md)"
    return cause, f"{fix}: {grant}"
