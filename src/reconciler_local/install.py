"""Install our additions on moto's classes and start the runtime components, once per process."""

from __future__ import annotations

import threading
from typing import Any

from reconciler_local import auth, events_fixes, lake_formation, quicksight, roles, s3_fixes
from reconciler_local.admin import AdminApp
from reconciler_local.glue import crawler_runtime, job_runtime, triggers
from reconciler_local.glue import models as glue_models
from reconciler_local.glue import responses as glue_responses
from reconciler_local.runtime import Runtime

_installed = False
_lock = threading.Lock()


def install_patches() -> None:
    """Graft our Glue additions onto moto (idempotent; safe to call from every entry point)."""
    global _installed
    with _lock:
        if _installed:
            return
        glue_models.install()
        glue_responses.install()
        s3_fixes.install()
        roles.install()
        events_fixes.install()
        quicksight.install()
        lake_formation.install()
        _installed = True


def install(runtime: Runtime, admin: AdminApp) -> None:
    """Patches, then the runtime components (each installs its own grafts once)."""
    install_patches()
    auth.install(runtime)
    crawls = crawler_runtime.install(runtime)
    jobs = job_runtime.install(runtime)
    triggers.install(runtime, crawls, jobs)

    def job_run_files(run_id: str) -> dict[str, Any] | None:
        run = jobs.find(run_id)
        return run.files() if run else None

    admin.job_run_files = job_run_files
