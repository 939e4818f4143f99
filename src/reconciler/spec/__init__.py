"""The spec layer: pipeline.yaml -> located problems or a typed `Pipeline`. No AWS calls here.

- `load`: YAML with line/column marks, `${VAR}` interpolation, schema and semantic checks, the model build
- `checks`: JSON Schema findings and the semantic checks; `rules`: the field rules they share
- `cron`: Glue cron expressions, parsed once for validation and for the local endpoint's scheduler
- `model`: the typed objects the rest of the tool reads; `schemas`: where `schema/*.json` is found
"""
