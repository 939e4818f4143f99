"""Our additions to moto's Glue, split as moto splits it: responses (request parsing and reply shaping),
models (state and logic on moto's backend classes) and exceptions (typed AWS errors)."""
