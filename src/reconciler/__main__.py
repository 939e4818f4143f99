"""`python -m reconciler` is `reconcile`."""

from reconciler.cli.main import main

main()
