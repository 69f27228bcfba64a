"""Auto-checked questions, one module per chapter (see helpers.exercises)."""
