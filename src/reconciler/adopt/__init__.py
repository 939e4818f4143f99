"""Importing a pipeline someone built by hand: `reconcile import` (adopt/importer.py, docs/import.md)."""
