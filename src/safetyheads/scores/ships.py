"""Ships: KL(p_base || p_ablated) of the next-token distribution, per query and head."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

from safetyheads.core.engine import Engine, kl_divergence
from safetyheads.core.heads import validate_heads
from safetyheads.core.progress import Progress
from safetyheads.types import AblationSpec, Head, ModelShape, ShipsResult


def scores_grid(shape: ModelShape, spec: AblationSpec, values: dict[Head, float]) -> list[list[float | None]]:
    """An L x H list with ``None`` where a head was not swept."""
    per_layer = shape.heads_per_layer(spec)
    return [[values.get(Head(layer, h)) for h in range(per_layer)] for layer in range(shape.n_layers)]


def ships_for_prompt(
    engine: Engine,
    input_ids: torch.Tensor,
    heads: Sequence[Head],
    advance: Callable[[int], None] | None = None,
) -> dict[Head, float]:
    """Ships of each head in ``heads`` for one tokenised prompt (1, T)."""
    cap = engine.capture(input_ids)
    scores: dict[Head, float] = {}
    for chunk, out in engine.sweep(cap, heads):
        kl = kl_divergence(cap.logprobs.unsqueeze(0), out.logprobs)
        scores.update({h: float(v) for h, v in zip(chunk, kl.tolist(), strict=True)})
        if advance is not None:
            advance(len(chunk))
    return scores


def sweep_ships(
    model: nn.Module,
    prompts: Sequence[tuple[str, torch.Tensor]],
    heads: Iterable[Head] | None = None,
    spec: AblationSpec | None = None,
    batch_size: int | None = None,
    on_result: Callable[[int, ShipsResult], None] | None = None,
    skip: Callable[[int], bool] | None = None,
    show_progress: bool = False,
) -> list[ShipsResult]:
    """Ships of every head (or ``heads``) for each (text, input_ids) prompt.

    ``on_result`` is called as each prompt finishes (for streaming to disk);
    prompts for which ``skip(i)`` is true are not computed (resuming).
    """
    engine = Engine(model, spec, batch_size)
    candidates = validate_heads(
        heads if heads is not None else engine.shape.all_heads(engine.spec), engine.shape, engine.spec
    )
    results: list[ShipsResult] = []
    todo = [i for i in range(len(prompts)) if not (skip and skip(i))]
    with Progress(enabled=show_progress) as progress:
        task = progress.task("Ships", total=len(todo) * len(candidates))
        for i in todo:
            text, ids = prompts[i]
            values = ships_for_prompt(engine, ids, candidates, lambda n: progress.advance(task, n))
            result = ShipsResult(prompt=text, scores=scores_grid(engine.shape, engine.spec, values))
            results.append(result)
            if on_result is not None:
                on_result(i, result)
    return results


def mean_scores(results: Sequence[ShipsResult], key: str = "scores") -> tuple[list, list]:
    """Per-head mean and std over prompts, ignoring missing values; L x H lists."""
    grids = [r.scores if key == "scores" else r.extra[key] for r in results]
    if not grids:
        return [], []
    arr = torch.tensor(
        [[[float("nan") if v is None else v for v in row] for row in g] for g in grids], dtype=torch.float64
    )
    mean = arr.nanmean(dim=0)
    valid = (~arr.isnan()).sum(dim=0)
    centred = torch.where(arr.isnan(), torch.zeros_like(arr), arr - mean)
    std = (centred.pow(2).sum(dim=0) / valid.clamp_min(1)).sqrt()
    to_list = lambda t: [[None if (x != x) else float(x) for x in row] for row in t.tolist()]  # noqa: E731
    return to_list(mean), to_list(torch.where(valid > 0, std, torch.full_like(std, float("nan"))))


Ranked = list[tuple[Head, float, float]]  # (head, mean, std), best first


def ranked_heads(results: Sequence[ShipsResult], key: str = "scores") -> Ranked:
    """(head, mean, std) over prompts (``mean_scores``) of every head with a score, best first (ties by head)."""
    mean, std = mean_scores(results, key)
    rows = [
        (Head(layer, h), m, std[layer][h]) for layer, row in enumerate(mean) for h, m in enumerate(row) if m is not None
    ]
    return sorted(rows, key=lambda r: (-r[1], r[0]))
