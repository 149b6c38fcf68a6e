"""How sweep work is cut up: the engine's row batches, units of them for workers, and results released in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from safetyheads.core.heads import parse_heads, validate_heads
from safetyheads.types import AblationSpec, Head, ModelShape, SafetyHeadsError


def plan_batches(candidates: Sequence[Head], rows: int) -> list[list[Head]]:
    """The row batches ``Engine.sweep`` makes: candidates sorted, ``rows`` per batch."""
    ordered = sorted(candidates)
    rows = max(1, int(rows))
    return [ordered[i : i + rows] for i in range(0, len(ordered), rows)]


def deal(batches: Sequence[list[Head]], units: int) -> list[list[list[Head]]]:
    """Deal batches round-robin into ``units`` non-empty units (low layers, which cost most, get spread)."""
    units = max(1, min(units, len(batches)))
    return [list(batches[u::units]) for u in range(units)]


def plan_units(candidates: Sequence[Head], rows: int, units: int) -> list[list[Head]]:
    """The heads of each of ``units`` work units: the batches of ``plan_batches`` dealt out, each unit's joined.

    An engine with ``rows`` rows per batch (``Engine(model, spec, rows)``) sweeps a unit's heads in exactly the
    unit's batches, so in exactly the row batches of a sweep of all ``candidates``: the joined batches are sorted,
    and only the last batch of all can be short.
    """
    return [[h for batch in unit for h in batch] for unit in deal(plan_batches(candidates, rows), units)]


def chosen_heads(spec_text: str | None, shape: ModelShape, spec: AblationSpec) -> list[Head] | None:
    """``--heads`` parsed and checked against ``shape``; None when not given (every head, or none ablated). Given
    but naming no head (``--heads ""`` from an unset variable) is an error, not the plain model."""
    if spec_text is None:
        return None
    return validate_heads(named_heads(spec_text), shape, spec)


def named_heads(spec_text: str) -> list[Head]:
    """The heads ``--heads`` names; naming none is an error (run commands call it before loading a model)."""
    heads = parse_heads(spec_text)
    if not heads:
        raise SafetyHeadsError(f"--heads {spec_text!r} names no head; give e.g. --heads 2-26, or leave it out")
    return heads


def spec_for_heads(spec_text: str | None, spec: AblationSpec | None) -> AblationSpec:
    """The ablation spec for ``--heads``, checked before any model loads: the heads must name at least one head, and
    a spec other than the default given without heads would ablate nothing, which is an error (library callers get
    the check the command line gets)."""
    if spec_text is None:
        if spec is not None and spec != AblationSpec():
            raise SafetyHeadsError(
                "--ablation and --epsilon apply to --heads; give the heads to ablate, or leave them out"
            )
        return AblationSpec()
    named_heads(spec_text)
    return spec or AblationSpec()


def emit_in_order(
    n: int, skip: Callable[[int], bool] | None
) -> tuple[list[int], Callable[[int, Any, Callable[[int, Any], None] | None], None]]:
    """Indices to do, and a function that releases finished results strictly in index order."""
    todo = [i for i in range(n) if not (skip and skip(i))]
    ready: dict[int, Any] = {}
    position = [0]

    def finish(i: int, value: Any, on_result: Callable[[int, Any], None] | None) -> None:
        ready[i] = value
        while position[0] < len(todo) and todo[position[0]] in ready:
            j = todo[position[0]]
            if on_result is not None:
                on_result(j, ready[j])
            position[0] += 1

    return todo, finish
