"""`reconciler_local`: our local AWS endpoint, moto's server plus what moto lacks (see README.md here).

Public API:
- `LocalEndpoint.start(host="127.0.0.1", port=0)` -> endpoint with `.url`, `.port`, `.stop()` (in-process).
- `up(state_dir, port=None)`, `down(state_dir)`, `status(state_dir)`, `ensure_running(state_dir)`:
  the endpoint as a background process (`python -m reconciler_local serve`), state in `EndpointState`.
- `reset(url)`: forget everything (moto's state and our runtime's).
- `call_admin(url, route, body=None)`: call an admin route (see `reconciler_local.admin` for the list).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.errors import LocalEndpointError
from reconciler_local.lifecycle import (
    DEFAULT_STATE_DIR,
    EndpointState,
    call_admin,
    down,
    ensure_running,
    reset,
    status,
    up,
)

if TYPE_CHECKING:
    from reconciler_local.server import LocalEndpoint

__all__ = [
    "DEFAULT_STATE_DIR",
    "EndpointState",
    "LocalEndpoint",
    "LocalEndpointError",
    "call_admin",
    "down",
    "ensure_running",
    "reset",
    "status",
    "up",
]


def __getattr__(name: str) -> Any:
    """`LocalEndpoint` imports moto; the lifecycle functions must not, so that `up` can refuse an unsupported
    moto (moto_support.check_moto) before any of moto's modules is imported."""
    if name == "LocalEndpoint":
        from reconciler_local.server import LocalEndpoint

        return LocalEndpoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
