"""The engine: a pure diff and plan core (`diff`, `plan`), and the one locked apply path (`apply`, `locked`)
used by `apply`, `destroy` and `run`; `security` classifies changes that widen access."""
