"""The AWS edge: the one context every call goes through (`context`), transient-error retries (`retry`) and the
S3 conditional-write lock (`lock`). Botocore's exceptions are mapped to ours here and nowhere else."""
