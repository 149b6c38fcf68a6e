"""CLI commands, one module per area; ``safetyheads.cli`` assembles them."""
