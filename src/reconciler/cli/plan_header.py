"""The first line of a plan: which region, endpoint and account it was made against."""

from __future__ import annotations

from urllib.parse import urlparse

from reconciler.aws.context import AwsContext


def endpoint_words(resolved_url: str, *, local: bool) -> str:
    """"AWS" for AWS's own endpoints, else the URL (marked when it is the embedded local endpoint)."""
    host = urlparse(resolved_url).hostname or ""
    if host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws")):
        return "AWS"
    return f"{resolved_url} (the local endpoint)" if local else f"endpoint {resolved_url}"


def target_line(ctx: AwsContext, *, local: bool) -> str:
    """`Plan for region R on AWS, account A.` The endpoint is the one boto3 resolved (--endpoint-url,
    AWS_ENDPOINT_URL_*, AWS_ENDPOINT_URL, the profile), read from a client, never guessed from a flag."""
    resolved = str(ctx.client("sts").meta.endpoint_url)
    return f"Plan for region {ctx.region} on {endpoint_words(resolved, local=local)}, account {ctx.account_id}."
