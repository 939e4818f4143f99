"""AWS CLI commands for hints, complete enough to work when pasted."""

from __future__ import annotations

import shlex
from urllib.parse import urlparse

from reconciler.aws.context import AwsContext

#: what the local endpoint (and any endpoint on this machine) is sent: it accepts any credentials, and a
#: shell with none configured would make the AWS CLI stop at "Unable to locate credentials"
LOCAL_CREDENTIALS = ("AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing")


def aws_cli(ctx: AwsContext, *words: str) -> str:
    """`aws WORDS --region R [--endpoint-url U]`, with dummy credentials in front for an endpoint on this
    machine (the local endpoint)."""
    line = ["aws", *words, "--region", ctx.region]
    prefix: tuple[str, ...] = ()
    endpoint = ctx.custom_endpoint(words[0])  # explicit: the same endpoint whatever configures it
    if endpoint:
        line += ["--endpoint-url", endpoint]
        if urlparse(endpoint).hostname in {"127.0.0.1", "localhost", "::1"}:
            prefix = LOCAL_CREDENTIALS
    return " ".join([*prefix, shlex.join(line)])
