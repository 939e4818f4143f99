"""Every private moto name the endpoint's grafts touch, in one place.

moto's internals move between patch releases (5.2.6 removed `GlueResponse.parameters`, which the
grafts used). Each graft reaches moto through this module, and `tests/local/test_moto_contract.py`
checks every name listed in `CONTRACT` against the installed moto, so an upgrade fails that one test,
naming what moved, instead of answering HTTP 500 to every request.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.responses import BaseResponse


def request_params(response: BaseResponse) -> dict[str, Any]:
    """The JSON body of a JSON-protocol request (Glue, QuickSight's JSON bodies), as sent on the wire.

    moto 5.2.6 parses requests through botocore's parser into `params`; the grafts read the raw JSON
    instead, which is what AWS receives and what no moto release has changed (`BaseResponse.body`).
    """
    body = response.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if not body:
        return {}
    parsed = json.loads(body)
    if not isinstance(parsed, dict):
        raise ValueError("request body is not a JSON object")
    return parsed
