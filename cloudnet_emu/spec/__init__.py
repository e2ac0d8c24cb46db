"""The description: YAML files -> validated, typed model (no kernel access here)."""
