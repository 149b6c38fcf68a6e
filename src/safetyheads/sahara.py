"""Generalized Ships (subspace angles over a dataset) and the Sahara greedy group search."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from safetyheads.engine import Engine
from safetyheads.heads import validate_heads
from safetyheads.progress import Progress
from safetyheads.ships import scores_grid
from safetyheads.types import AblationSpec, Head, SaharaResult, SaharaStep


def top_left_singular(matrix: torch.Tensor, rank: int) -> torch.Tensor:
    """The top-``rank`` left singular vectors (N x rank) of an N x d matrix, in float64."""
    u, _s, _vh = torch.linalg.svd(matrix.double(), full_matrices=False)
    return u[:, :rank]


def principal_angle_sum(u_a: torch.Tensor, u_b: torch.Tensor) -> float:
    """Sum of principal angles, in degrees, between the column spaces of two orthonormal bases."""
    cosines = torch.linalg.svdvals(u_a.T @ u_b).clamp(-1.0, 1.0)
    return float(torch.rad2deg(torch.arccos(cosines)).sum())


def final_hidden_states(
    engine: Engine,
    prompts: Sequence[torch.Tensor],
    candidates: Sequence[Head],
    group: Sequence[Head] = (),
    advance: Callable[[int], None] | None = None,
) -> tuple[torch.Tensor, dict[Head, torch.Tensor]]:
    """Final-norm hidden states at the last token, N x d: under ``group``, and under group + each candidate."""
    n, d = len(prompts), engine.shape.hidden_size
    base = torch.empty(n, d)
    per_head = {h: torch.empty(n, d) for h in candidates}
    for i, ids in enumerate(prompts):
        cap = engine.capture(ids, group)
        base[i] = cap.hidden
        for chunk, out in engine.sweep(cap, candidates):
            for h, row in zip(chunk, out.hidden, strict=True):
                per_head[h][i] = row
            if advance is not None:
                advance(len(chunk))
    return base, per_head


def generalized_ships(
    engine: Engine,
    prompts: Sequence[torch.Tensor],
    candidates: Sequence[Head],
    group: Sequence[Head] = (),
    rank: int = 1,
    base_subspace: torch.Tensor | None = None,
    advance: Callable[[int], None] | None = None,
) -> dict[Head, float]:
    """Principal-angle sum between the unablated subspace and the one with group + head ablated."""
    if base_subspace is None:
        unablated, _ = final_hidden_states(engine, prompts, [])
        base_subspace = top_left_singular(unablated, rank)
    _, per_head = final_hidden_states(engine, prompts, candidates, group, advance)
    return {h: principal_angle_sum(base_subspace, top_left_singular(m, rank)) for h, m in per_head.items()}


def check_search(steps: int, pool_size: int, rank: int, n_prompts: int, label: str = "") -> None:
    """Refuse a search that cannot run: a rank outside 1..prompts, or more steps than candidate heads."""
    if not 1 <= rank <= n_prompts:
        raise ValueError(f"rank must be between 1 and the number of {label}prompts ({n_prompts}), got {rank}")
    if steps > pool_size:
        raise ValueError(f"cannot take {steps} steps from {pool_size} candidate heads")


def best_head(candidates: Sequence[Head], scores: dict[Head, float]) -> Head:
    """The highest-scoring candidate; ties go to the lowest (layer, head)."""
    return max(candidates, key=lambda h: (scores[h], -h.layer, -h.head))


def sahara(
    model: nn.Module,
    prompts: Sequence[torch.Tensor],
    steps: int = 3,
    rank: int = 1,
    spec: AblationSpec | None = None,
    candidates: Sequence[Head] | None = None,
    batch_size: int | None = None,
    done_steps: Sequence[SaharaStep] = (),
    on_step: Callable[[SaharaStep], None] | None = None,
    show_progress: bool = False,
) -> SaharaResult:
    """Greedy search: each step adds the head that maximises generalized Ships of the group so far plus it.

    ``done_steps`` resumes an interrupted search; ``on_step`` is called as each step finishes.
    """
    engine = Engine(model, spec, batch_size)
    pool = validate_heads(
        candidates if candidates is not None else engine.shape.all_heads(engine.spec),
        engine.shape,
        engine.spec,
    )
    check_search(steps, len(pool), rank, len(prompts))
    result = SaharaResult(group=[s.chosen for s in done_steps], steps=list(done_steps))
    unablated, _ = final_hidden_states(engine, prompts, [])
    base_subspace = top_left_singular(unablated, rank)
    with Progress(enabled=show_progress) as progress:
        for step in range(len(result.steps), steps):
            remaining = [h for h in pool if h not in result.group]
            task = progress.task(f"Sahara step {step + 1}/{steps}", total=len(remaining) * len(prompts))
            scores = generalized_ships(
                engine,
                prompts,
                remaining,
                result.group,
                rank,
                base_subspace,
                advance=lambda n, task=task: progress.advance(task, n),
            )
            chosen = best_head(remaining, scores)
            record = SaharaStep(chosen=chosen, scores=scores_grid(engine.shape, engine.spec, scores))
            result.group.append(chosen)
            result.steps.append(record)
            if on_step is not None:
                on_step(record)
    return result
