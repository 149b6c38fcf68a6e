"""``python -m safetyheads.cli``: the command line."""

from safetyheads.cli import run

run()
