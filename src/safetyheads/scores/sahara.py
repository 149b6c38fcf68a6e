"""Generalized Ships (subspace angles over a dataset) and the Sahara group search (greedy, or a beam of groups)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from safetyheads.core.engine import Engine
from safetyheads.core.heads import validate_heads
from safetyheads.core.progress import Progress
from safetyheads.scores.ships import scores_grid
from safetyheads.types import (
    AblationSpec,
    BeamGroup,
    BeamStep,
    Head,
    ModelShape,
    SafetyHeadsError,
    SaharaResult,
    SaharaStep,
)


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


def check_search(steps: int, pool_size: int, rank: int, n_prompts: int, label: str = "", beam: int = 1) -> None:
    """Refuse a search that cannot run: a rank outside 1..prompts, more steps than candidate heads, a beam below 1."""
    if not 1 <= rank <= n_prompts:
        raise SafetyHeadsError(f"rank must be between 1 and the number of {label}prompts ({n_prompts}), got {rank}")
    if steps > pool_size:
        raise SafetyHeadsError(f"cannot take {steps} steps from {pool_size} candidate heads")
    if beam < 1:
        raise SafetyHeadsError(f"the beam must hold at least 1 group, got {beam}")


def best_head(candidates: Sequence[Head], scores: dict[Head, float]) -> Head:
    """The highest-scoring candidate; ties go to the lowest (layer, head)."""
    return max(candidates, key=lambda h: (scores[h], -h.layer, -h.head))


# ------------------------------------------------------------------------------------------- beam search


@dataclass
class Sweep:
    """One group's sweep: the objective of the group plus each candidate, who may join, and components to record."""

    values: dict[Head, float]
    eligible: list[Head]
    extra: dict[str, dict[Head, float]] = field(default_factory=dict)


# score(group, candidates, advance): the sweep of ``candidates`` on top of ``group``
Scorer = Callable[[tuple[Head, ...], list[Head], Callable[[int], None]], Sweep]


def rank_key(group: BeamGroup) -> tuple[float, tuple[Head, ...]]:
    """Beam order: the highest objective first; ties go to the lowest sorted (layer, head) set."""
    return -group.objective, tuple(sorted(group.heads))


def next_beam(
    parents: Sequence[tuple[Head, ...]],
    sweeps: Sequence[Sweep],
    width: int,
    shape: ModelShape,
    spec: AblationSpec,
    first: bool,
) -> list[BeamGroup]:
    """The ``width`` best groups among every parent + eligible head, each set once (its best-ranked way).

    With one parent this is ``best_head``'s choice: of two sets that differ in one head, the one with the lower
    head sorts first.
    """
    children: list[BeamGroup] = []
    for index, (parent, sweep) in enumerate(zip(parents, sweeps, strict=True)):
        grid = scores_grid(shape, spec, sweep.values)
        extra = {name: scores_grid(shape, spec, vals) for name, vals in sweep.extra.items()}
        for h in sweep.eligible:
            step = SaharaStep(chosen=h, scores=grid, extra=extra)
            children.append(BeamGroup([*parent, h], sweep.values[h], step, None if first else index))
    children.sort(key=rank_key)  # stable: a set reached from two parents keeps the earlier parent's on ties
    beam: list[BeamGroup] = []
    seen: set[frozenset[Head]] = set()
    for child in children:
        key = frozenset(child.heads)
        if key not in seen and len(beam) < width:
            seen.add(key)
            beam.append(child)
    return beam


def lineage(history: Sequence[BeamStep], index: int = 0) -> list[SaharaStep]:
    """The steps that built group ``index`` of the last beam, first step first."""
    steps: list[SaharaStep] = []
    for beam in reversed(history):
        group = beam.groups[index]
        steps.append(group.step)
        index = group.parent or 0
    return steps[::-1]


def beam_result(history: Sequence[BeamStep], width: int) -> SaharaResult:
    """The search so far: the best group of the last beam, its steps, and every beam."""
    group = list(history[-1].best.heads) if history else []
    return SaharaResult(group=group, steps=lineage(history), beam_width=width, beam=list(history))


def beam_from_steps(steps: Sequence[SaharaStep]) -> list[BeamStep]:
    """The beam history of a greedy (width 1) search from its steps."""
    history: list[BeamStep] = []
    for i, step in enumerate(steps):
        heads = [s.chosen for s in steps[: i + 1]]
        value = step.scores[step.chosen.layer][step.chosen.head]
        if value is None:
            raise ValueError(f"step {i + 1} has no score for its chosen head {step.chosen}")
        history.append(BeamStep([BeamGroup(heads, float(value), step, None if i == 0 else 0)]))
    return history


def resume_history(
    done_steps: Sequence[SaharaStep], done_beam: Sequence[BeamStep], width: int, steps: int
) -> list[BeamStep]:
    """Where a search resumes: ``done_beam``, else (greedy only) the beam of ``done_steps``."""
    if done_beam:
        if any(len(b.groups) > width for b in done_beam):
            raise ValueError(f"the saved beam holds more than {width} groups")
        return list(done_beam)[:steps]
    if done_steps and width > 1:
        raise ValueError("resuming a beam search (beam > 1) needs its saved beam (done_beam), not only its steps")
    return beam_from_steps(list(done_steps)[:steps])


def run_beam(
    pool: Sequence[Head],
    steps: int,
    width: int,
    shape: ModelShape,
    spec: AblationSpec,
    score: Scorer,
    history: list[BeamStep],
    cost: int,
    on_beam: Callable[[list[BeamStep]], None],
    show_progress: bool = False,
) -> list[Sweep] | None:
    """Extend ``history`` (the beam after each step so far) to ``steps`` steps, calling ``on_beam`` after each.

    ``cost``: progress units per candidate head (prompts swept). Returns the sweeps of a step at which no group
    could add an eligible head (the search stops there), else None.
    """
    with Progress(enabled=show_progress) as progress:
        for step in range(len(history), steps):
            parents = [tuple(g.heads) for g in history[-1].groups] if history else [()]
            todo = [[h for h in pool if h not in parent] for parent in parents]
            task = progress.task(f"Sahara step {step + 1}/{steps}", total=sum(map(len, todo)) * cost)
            sweeps = [
                score(parent, remaining, lambda n, task=task: progress.advance(task, n))
                for parent, remaining in zip(parents, todo, strict=True)
            ]
            beam = next_beam(parents, sweeps, width, shape, spec, first=not history)
            if not beam:
                return sweeps
            history.append(BeamStep(beam))
            on_beam(history)
    return None


def reporter(
    width: int,
    on_step: Callable[[SaharaStep], None] | None,
    on_result: Callable[[SaharaResult], None] | None,
) -> Callable[[list[BeamStep]], None]:
    """``on_beam`` for ``run_beam``: the best group's newest step to ``on_step``, the search so far to ``on_result``."""

    def report(history: list[BeamStep]) -> None:
        if on_step is not None:
            on_step(history[-1].best.step)
        if on_result is not None:
            on_result(beam_result(history, width))

    return report


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
    beam: int = 1,
    done_beam: Sequence[BeamStep] = (),
    on_result: Callable[[SaharaResult], None] | None = None,
) -> SaharaResult:
    """Sahara: each step adds the head that maximises generalized Ships of the group so far plus it.

    ``beam`` > 1 keeps that many groups per step (each extended by every remaining head; a set reached twice is
    kept once); 1 is the paper's greedy search. The result is the best group of the last beam, with the steps
    that built it, and the beam after each step.

    ``done_steps`` (greedy) or ``done_beam`` (any width) resumes an interrupted search. ``on_step`` is called as
    each step finishes with the best group's newest step (with a beam, the best group's earlier steps may change
    from one step to the next), ``on_result`` with the search so far.
    """
    engine = Engine(model, spec, batch_size)

    def scorer() -> Scorer:
        unablated, _ = final_hidden_states(engine, prompts, [])
        base_subspace = top_left_singular(unablated, rank)

        def score(group: tuple[Head, ...], remaining: list[Head], advance: Callable[[int], None]) -> Sweep:
            return Sweep(generalized_ships(engine, prompts, remaining, group, rank, base_subspace, advance), remaining)

        return score

    return search(
        engine.shape, engine.spec, len(prompts), scorer, steps, rank, candidates, done_steps=done_steps,
        on_step=on_step, show_progress=show_progress, beam=beam, done_beam=done_beam, on_result=on_result,
    )  # fmt: skip


def search(
    shape: ModelShape,
    spec: AblationSpec,
    n_prompts: int,
    scorer: Callable[[], Scorer],
    steps: int = 3,
    rank: int = 1,
    candidates: Sequence[Head] | None = None,
    *,
    done_steps: Sequence[SaharaStep] = (),
    on_step: Callable[[SaharaStep], None] | None = None,
    show_progress: bool = False,
    beam: int = 1,
    done_beam: Sequence[BeamStep] = (),
    on_result: Callable[[SaharaResult], None] | None = None,
) -> SaharaResult:
    """The Sahara search with the sweep of a group left to ``scorer``: ``sahara`` (one process) and the Ray
    backend (workers) share it. ``scorer()`` is called once, when a step is left to run, and returns the ``Scorer``
    of every step (it computes the base subspace). The arguments are checked and a search resumed here."""
    pool = validate_heads(candidates if candidates is not None else shape.all_heads(spec), shape, spec)
    check_search(steps, len(pool), rank, n_prompts, beam=beam)
    history = resume_history(done_steps, done_beam, beam, steps)
    if len(history) < steps:
        report = reporter(beam, on_step, on_result)
        run_beam(pool, steps, beam, shape, spec, scorer(), history, n_prompts, report, show_progress)
    return beam_result(history, beam)
