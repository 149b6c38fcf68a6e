"""The few numbers the report derives from what it read; everything else it shows is read as written.

The per-head means come from ``scores.compare`` (``ships.mean_scores``) and the shares with their intervals from
the run's ``eval_summary.json`` (``evaluation.asr``): none is computed here. ``number`` (a JSON value as a float or
None) is ``scores.compare``'s, the one the means are read with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from safetyheads.scores.compare import number

__all__ = ["cell", "difference", "number", "outcome_count", "ranked_heads"]

Cell = tuple[int, int, float, float | None]  # layer, head, mean, std


def cell(grid: Sequence[Sequence[Any]] | None, layer: int, head: int) -> Any:
    """``grid[layer][head]``, or None when the grid is missing or does not reach that far."""
    if grid is None or not 0 <= layer < len(grid) or not 0 <= head < len(grid[layer]):
        return None
    return grid[layer][head]


def ranked_heads(mean: Sequence[Sequence[float | None]], std: Sequence[Sequence[Any]] | None) -> list[Cell]:
    """Every head with a mean, highest first (ties: lower layer, then lower head), with its std when known."""
    cells = [
        (layer, head, m, cell(std, layer, head))
        for layer, row in enumerate(mean)
        for head, m in enumerate(row)
        if m is not None
    ]
    return sorted(cells, key=lambda c: (-c[2], c[0], c[1]))


def difference(value: Any, reference: Any) -> float | None:
    """``value - reference`` of two shares (or accuracies); None when either is not a number."""
    v, r = number(value), number(reference)
    return None if v is None or r is None else v - r


def outcome_count(records: Sequence[dict[str, Any]], outcome: str) -> int:
    """How many records have this outcome."""
    return sum(1 for r in records if r.get("outcome") == outcome)
