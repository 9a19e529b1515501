"""The `augenmass` command: one module per group of sub-commands."""
