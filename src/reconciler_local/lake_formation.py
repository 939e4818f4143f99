"""Lake Formation's say over new Glue databases, as far as our pipeline meets it.

Lake Formation's initial settings keep Glue backward compatible: "Use only IAM access control" is on for new
Data Catalog resources, i.e. the data lake settings' `CreateDatabaseDefaultPermissions` and
`CreateTableDefaultPermissions` grant ALL to `IAM_ALLOWED_PRINCIPALS` (Lake Formation Developer Guide,
"Changing the default settings for your data lake"). An account may clear them (PutDataLakeSettings with both
lists empty, the same page): from then on a new database is governed by Lake Formation permissions, and IAM
policies alone no longer let a principal use it.

Modelled here, from the data lake settings kept by moto's Lake Formation backend (PutDataLakeSettings,
GrantPermissions and RevokePermissions are moto's own):
- CreateDatabase without `CreateTableDefaultPermissions` stores the settings' `CreateTableDefaultPermissions`,
  which GetDatabase returns (Glue API reference, Database: "CreateTableDefaultPermissions - Creates a set of
  default permissions on the table for principals. Used by Lake Formation."). UpdateDatabase keeps it when its
  DatabaseInput leaves it out.
- A database is governed when `IAM_ALLOWED_PRINCIPALS` was not in `CreateDatabaseDefaultPermissions` as it was
  created. A crawl into a governed database needs Lake Formation permissions for the crawler's role on it:
  "Error: Insufficient Lake Formation permission(s) on ... grant the crawler role access permissions (Create,
  Describe, Alter) on the database, which is specified as the output database" (AWS Glue Developer Guide,
  "Crawler errors when the crawler is using Lake Formation permissions"), i.e. CREATE_TABLE, DESCRIBE and ALTER
  (or ALL) granted to the role's ARN on the database; otherwise the crawl fails with
  "Insufficient Lake Formation permission(s) on <database>".
Not modelled: table-level grants, data location permissions, LF-Tags, hybrid access mode, the database
creator's implicit permissions (the operator is not checked).
"""

from __future__ import annotations

from typing import Any

from reconciler_local.moto_api import GlueBackend, lakeformation_backends
from reconciler_local.patching import graft, original

IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"
#: what the crawler's role needs on a governed database (the Glue guide's "Create, Describe, Alter")
CRAWLER_DATABASE_PERMISSIONS = frozenset({"CREATE_TABLE", "DESCRIBE", "ALTER"})


def data_lake_settings(account_id: str, region: str) -> dict[str, Any]:
    settings: dict[str, Any] = lakeformation_backends()[account_id][region].get_data_lake_settings(account_id)
    return settings


def _grants_iam_allowed_principals(entries: list[dict[str, Any]] | None) -> bool:
    return any(
        (entry.get("Principal") or {}).get("DataLakePrincipalIdentifier") == IAM_ALLOWED_PRINCIPALS
        for entry in entries or []
    )


def is_governed(database: Any) -> bool:
    return bool(getattr(database, "lake_formation_governed", False))


def missing_crawler_permissions(account_id: str, region: str, role_arn: str | None, database: str) -> set[str]:
    """What the crawler's role lacks on a governed `database` (empty: enough)."""
    if role_arn is None:
        return set(CRAWLER_DATABASE_PERMISSIONS)
    catalog = lakeformation_backends()[account_id][region].grants.get(account_id)
    granted: set[str] = set()
    for permission in list(catalog.permissions) if catalog is not None else []:
        if permission.principal.get("DataLakePrincipalIdentifier") != role_arn:
            continue
        if (permission.resource.get("Database") or {}).get("Name") == database:
            granted.update(permission.permissions)
    return set() if "ALL" in granted else set(CRAWLER_DATABASE_PERMISSIONS - granted)


class _LakeFormationDatabases(GlueBackend):
    def create_database(
        self, database_name: str, database_input: dict[str, Any], tags: dict[str, str] | None = None
    ) -> Any:
        database = original(GlueBackend, "create_database")(self, database_name, database_input, tags)
        settings = data_lake_settings(self.account_id, self.region_name)
        database.lake_formation_governed = not _grants_iam_allowed_principals(
            settings.get("CreateDatabaseDefaultPermissions")
        )
        if "CreateTableDefaultPermissions" not in database.input:
            defaults = list(settings.get("CreateTableDefaultPermissions") or [])
            database.input = {**database.input, "CreateTableDefaultPermissions": defaults}
        return database

    def update_database(self, database_name: str, database_input: dict[str, Any]) -> None:
        before = self.get_database(database_name).input.get("CreateTableDefaultPermissions")
        original(GlueBackend, "update_database")(self, database_name, database_input)
        database = self.get_database(database_name)
        if "CreateTableDefaultPermissions" not in database_input and before is not None:
            database.input = {**database.input, "CreateTableDefaultPermissions": before}


def install() -> None:
    graft(GlueBackend, _LakeFormationDatabases)
