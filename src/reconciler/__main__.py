"""`python -m reconciler` is `reconcile`."""

from .cli import main

main()
