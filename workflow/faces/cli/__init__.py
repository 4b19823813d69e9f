"""The `redress` command line: one module per command group, loaded only when its command is asked for (root.py)."""
