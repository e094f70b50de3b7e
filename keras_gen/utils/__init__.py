"""Small helpers shared by the CLI, callbacks and examples."""
