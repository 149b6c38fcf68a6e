"""Scores that tell safety heads from heads every answer depends on.

Ships (KL of the next-token distribution on harmful prompts) and generalized Ships (how far the final-state
subspace of a harmful dataset turns) also rank heads that matter for *any* answer. This module adds:

* ``refusal``: the change of the refusal log-odds at the first answer position (the ``refusal-score`` judge's
  measure, ``safetyheads.evaluation.judges``) when a head is ablated, ``base - ablated``: positive means the model
  refuses less. It reads the same next-token distribution Ships reads, so it costs nothing extra.
* ``contrastive``: Ships on harmful prompts minus ``lambda`` x Ships on harmless prompts (per head, means over
  each set). A head that moves every answer scores high on both and cancels out.
* ``untune`` (Sahara only, with the untuned model the safety tuning started from): how much closer ablating a
  head brings the tuned model's next-token distribution on harmful prompts to the untuned model's, the mean of
  ``KL(p_untuned || p_tuned) - KL(p_untuned || p_tuned, ablated)``: positive means the ablation undoes the safety
  tuning, towards answering, rather than moving the output anywhere.
* A contrastive Sahara: the same group search as ``safetyheads.scores.sahara`` (greedy or a beam), on an objective
  that rewards moving the harmful subspace (or the refusal odds) and penalises moving the harmless one:
  ``lambda`` x the harmless generalized Ships (or x the mean harmless KL when the reward is refusal), and/or a
  hard budget on the mean harmless KL of the group ablation.

Everything runs through ``Engine`` (capture + layer-reuse sweeps), so the KL here is bit for bit the KL of
``ships.ships_for_prompt``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from safetyheads.core.engine import Engine, kl_divergence
from safetyheads.core.heads import validate_heads
from safetyheads.core.progress import Progress
from safetyheads.data.refusal_text import REFUSAL_OPENERS, first_token_ids
from safetyheads.scores.sahara import (
    Sweep,
    beam_result,
    check_search,
    principal_angle_sum,
    reporter,
    resume_history,
    run_beam,
    top_left_singular,
)
from safetyheads.types import AblationSpec, BeamStep, Head, SafetyHeadsError, SaharaResult, SaharaStep

SCORES = ("kl", "refusal", "contrastive")
REWARDS = ("kl", "refusal", "untune")  # what a Sahara search can reward
OBJECTIVES = ("plain", "contrastive")
DEFAULT_LAMBDA = 1.0
HARMLESS_QUESTIONS = "questions"  # --harmless-dataset name of ``datasets.harmless_questions``

Grid = list[list[float | None]]

# ------------------------------------------------------------------------------------------- refusal odds


def refusal_token_ids(tokenizer, openers: Iterable[str] = REFUSAL_OPENERS) -> list[int]:
    """The tokens that start a refusal for this tokenizer (as the ``refusal-score`` judge maps them)."""
    openers = tuple(openers)
    ids = first_token_ids(tokenizer, openers)
    if not ids:
        raise SafetyHeadsError(f"no token of this tokenizer starts any of {', '.join(openers)}")
    return ids


def refusal_log_odds(logprobs: torch.Tensor, token_ids: Sequence[int]) -> torch.Tensor:
    """log(p / (1 - p)) over the last dimension, p the probability of the refusal-opening tokens (float64)."""
    log_p = torch.logsumexp(logprobs.double()[..., list(token_ids)], dim=-1).clamp(max=-1e-12)
    return log_p - torch.log(-torch.expm1(log_p))


# ------------------------------------------------------------------------------------------- per-query scores


@dataclass
class PromptComponents:
    """Per-head components of one prompt: Ships (KL) and, when asked for, the refusal log-odds change."""

    prompt: str
    kl: dict[Head, float]
    refusal: dict[Head, float] | None = None  # base - ablated refusal log-odds (positive: refuses less)
    refusal_base: float | None = None  # the unablated refusal log-odds


def components_for_prompt(
    engine: Engine,
    input_ids: torch.Tensor,
    heads: Sequence[Head],
    refusal_ids: Sequence[int] | None = None,
    advance: Callable[[int], None] | None = None,
    prompt: str = "",
) -> PromptComponents:
    """KL (exactly ``ships.ships_for_prompt``'s) and the refusal log-odds change of each head, one prompt."""
    cap = engine.capture(input_ids)
    base_odds = float(refusal_log_odds(cap.logprobs, refusal_ids)) if refusal_ids else None
    kl: dict[Head, float] = {}
    refusal: dict[Head, float] | None = {} if refusal_ids else None
    for chunk, out in engine.sweep(cap, heads):
        values = kl_divergence(cap.logprobs.unsqueeze(0), out.logprobs)
        kl.update({h: float(v) for h, v in zip(chunk, values.tolist(), strict=True)})
        if refusal is not None and base_odds is not None:
            odds = refusal_log_odds(out.logprobs, refusal_ids or ())
            refusal.update({h: base_odds - float(v) for h, v in zip(chunk, odds.tolist(), strict=True)})
        if advance is not None:
            advance(len(chunk))
    return PromptComponents(prompt, kl, refusal, base_odds)


def sweep_components(
    model: nn.Module,
    prompts: Sequence[tuple[str, torch.Tensor]],
    heads: Iterable[Head] | None = None,
    spec: AblationSpec | None = None,
    batch_size: int | None = None,
    refusal_ids: Sequence[int] | None = None,
    on_result: Callable[[int, PromptComponents], None] | None = None,
    skip: Callable[[int], bool] | None = None,
    show_progress: bool = False,
    label: str = "Ships",
) -> list[PromptComponents]:
    """``sweep_ships`` that also returns the refusal log-odds change (given ``refusal_ids``)."""
    engine = Engine(model, spec, batch_size)
    candidates = validate_heads(
        heads if heads is not None else engine.shape.all_heads(engine.spec), engine.shape, engine.spec
    )
    todo = [i for i in range(len(prompts)) if not (skip and skip(i))]
    results: list[PromptComponents] = []
    with Progress(enabled=show_progress) as progress:
        task = progress.task(label, total=len(todo) * len(candidates))
        for i in todo:
            text, ids = prompts[i]
            result = components_for_prompt(
                engine, ids, candidates, refusal_ids, lambda n: progress.advance(task, n), prompt=text
            )
            results.append(result)
            if on_result is not None:
                on_result(i, result)
    return results


def contrastive_grid(harmful: Grid, harmless: Grid, lam: float) -> Grid:
    """``harmful - lam * harmless`` cell by cell (``None`` where either is missing)."""
    return [
        [None if (a is None or b is None) else float(a) - lam * float(b) for a, b in zip(ra, rb, strict=True)]
        for ra, rb in zip(harmful, harmless, strict=True)
    ]


# ------------------------------------------------------------------------------------------- harmless prompts


def harmless_texts(
    prompts: Path | None = None,
    dataset: str | None = None,
    limit: int | None = None,
    default_count: int | None = None,
    column: str | None = None,
) -> list[str]:
    """The harmless prompt set: ``prompts`` (a file: all of it, or ``limit``), else ``dataset``.

    ``dataset`` is ``questions`` (the default: plain questions from ARC-Easy, BoolQ and OpenBookQA,
    ``datasets.harmless_questions``) or any built-in prompt set spec. Built-in sets give ``limit``
    prompts, else ``default_count`` (the number of harmful prompts), else all.
    """
    if prompts is not None and dataset is not None:
        raise SafetyHeadsError("give the harmless prompts with one of --harmless-prompts FILE or --harmless-dataset")
    if limit is not None and limit < 1:
        raise SafetyHeadsError("--harmless-limit must be at least 1")
    if prompts is not None:
        from safetyheads.data.prompts import read_prompts

        return read_prompts(prompts, column=column, limit=limit)
    count = limit if limit is not None else default_count
    name = (dataset or HARMLESS_QUESTIONS).strip()
    if name.lower() == HARMLESS_QUESTIONS:
        from safetyheads.data.datasets import harmless_questions

        texts = harmless_questions(count)
    else:
        from safetyheads.data.datasets import load_prompt_dataset

        texts = [item.text for item in load_prompt_dataset(name)]
        texts = texts[:count] if count else texts
    if not texts:
        raise SafetyHeadsError(f"the harmless set '{name}' holds no prompts")
    return texts


# ------------------------------------------------------------------------------------------- Sahara objective


@dataclass(frozen=True)
class Objective:
    """What the Sahara search maximises.

    ``reward``: ``kl`` (generalized Ships of the harmful set, the paper's) or ``refusal`` (mean refusal
    log-odds change over the harmful set). With ``contrastive``, ``lam`` x a penalty is subtracted: the
    harmless generalized Ships for the ``kl`` reward (degrees, like the reward), the mean harmless KL for
    the ``refusal`` reward (nats). ``budget``: heads whose group ablation's mean harmless KL exceeds it
    are not eligible.
    """

    reward: str = "kl"
    contrastive: bool = False
    lam: float = 0.0
    budget: float | None = None

    def __post_init__(self) -> None:
        if self.reward not in REWARDS:
            raise SafetyHeadsError(f"unknown Sahara reward '{self.reward}'; choose one of: {', '.join(REWARDS)}")
        if self.budget is not None and not self.contrastive:
            raise SafetyHeadsError("a harmless KL budget needs the contrastive objective")
        if self.budget is not None and not self.budget >= 0:
            raise SafetyHeadsError("--harmless-kl-budget must be a number >= 0")
        if not math.isfinite(self.lam):
            raise SafetyHeadsError("--lambda must be a finite number")

    @property
    def needs_harmless(self) -> bool:
        return self.contrastive

    @property
    def reward_key(self) -> str:
        return {"kl": "generalized_ships", "refusal": "refusal", "untune": "untuning"}[self.reward]

    @property
    def penalty_key(self) -> str:
        return "harmless_generalized_ships" if self.reward == "kl" else "harmless_kl"

    def describe(self) -> dict:
        out: dict = {"reward": self.reward_key, "objective": "contrastive" if self.contrastive else "plain"}
        if self.contrastive:
            out.update(penalty=self.penalty_key, **{"lambda": self.lam}, harmless_kl_budget=self.budget)
        return out

    def formula(self) -> str:
        text = self.reward_key
        if self.contrastive and self.lam:
            text += f" - {self.lam:g} x {self.penalty_key}"
        if self.budget is not None:
            text += f", harmless_kl <= {self.budget:g}"
        return text


@dataclass
class SaharaBase:
    """The unablated reference of each prompt set, computed once per search."""

    harmful_subspace: torch.Tensor
    harmful_odds: torch.Tensor | None  # (N,) refusal log-odds
    harmless_subspace: torch.Tensor | None = None
    harmless_logprobs: list[torch.Tensor] = field(default_factory=list)  # (V,) each
    target_logprobs: list[torch.Tensor] | None = None  # the untuned model's, per harmful prompt (untune reward)
    target_kl: torch.Tensor | None = None  # (N,) KL(untuned || tuned), nothing ablated


def _sweep_set(
    engine: Engine,
    prompts: Sequence[torch.Tensor],
    candidates: Sequence[Head],
    group: Sequence[Head],
    stats: dict[str, Callable[[int, torch.Tensor], torch.Tensor]],
    advance: Callable[[int], None] | None,
) -> tuple[dict[Head, torch.Tensor], dict[str, dict[Head, torch.Tensor]]]:
    """Final hidden states (N x d) and each named statistic of the logprobs (N,) per candidate, group + candidate
    ablated."""
    n, d = len(prompts), engine.shape.hidden_size
    hidden = {h: torch.empty(n, d) for h in candidates}
    values = {name: {h: torch.empty(n, dtype=torch.float64) for h in candidates} for name in stats}
    for i, ids in enumerate(prompts):
        cap = engine.capture(ids, group)
        for chunk, out in engine.sweep(cap, candidates):
            for h, row in zip(chunk, out.hidden, strict=True):
                hidden[h][i] = row
            for name, stat in stats.items():
                for h, v in zip(chunk, stat(i, out.logprobs), strict=True):
                    values[name][h][i] = v
            if advance is not None:
                advance(len(chunk))
    return hidden, values


def sahara_base(
    engine: Engine,
    harmful: Sequence[torch.Tensor],
    harmless: Sequence[torch.Tensor],
    rank: int,
    refusal_ids: Sequence[int] | None,
    target_logprobs: Sequence[torch.Tensor] | None = None,
) -> SaharaBase:
    caps = [engine.capture(ids) for ids in harmful]
    subspace = top_left_singular(torch.stack([c.hidden for c in caps]), rank)
    odds = torch.stack([refusal_log_odds(c.logprobs, refusal_ids) for c in caps]) if refusal_ids else None
    base = SaharaBase(subspace, odds)
    if target_logprobs is not None:
        if len(target_logprobs) != len(harmful):
            raise SafetyHeadsError("one untuned-model distribution per harmful prompt is needed")
        base.target_logprobs = list(target_logprobs)
        base.target_kl = torch.stack(
            [
                kl_divergence(t.unsqueeze(0), c.logprobs.unsqueeze(0))[0]
                for t, c in zip(target_logprobs, caps, strict=True)
            ]
        )
    if harmless:
        hcaps = [engine.capture(ids) for ids in harmless]
        base.harmless_subspace = top_left_singular(torch.stack([c.hidden for c in hcaps]), rank)
        base.harmless_logprobs = [c.logprobs for c in hcaps]
    return base


def step_components(
    engine: Engine,
    harmful: Sequence[torch.Tensor],
    harmless: Sequence[torch.Tensor],
    candidates: Sequence[Head],
    group: Sequence[Head],
    rank: int,
    base: SaharaBase,
    refusal_ids: Sequence[int] | None,
    advance: Callable[[int], None] | None = None,
) -> dict[str, dict[Head, float]]:
    """Every component of one Sahara step, per candidate (group + candidate ablated).

    ``generalized_ships`` (harmful set, degrees) and, with ``refusal_ids``, ``refusal`` (mean refusal
    log-odds change, base - ablated); with harmless prompts ``harmless_generalized_ships`` and
    ``harmless_kl`` (mean KL from the unablated model's next-token distribution).
    """
    stats: dict[str, Callable[[int, torch.Tensor], torch.Tensor]] = {}
    if refusal_ids and base.harmful_odds is not None:
        stats["odds"] = lambda _i, lp: refusal_log_odds(lp, refusal_ids)
    if base.target_logprobs is not None:
        stats["target_kl"] = lambda i, lp: kl_divergence(base.target_logprobs[i].unsqueeze(0), lp)
    hidden, values = _sweep_set(engine, harmful, candidates, group, stats, advance)
    out: dict[str, dict[Head, float]] = {
        "generalized_ships": {
            h: principal_angle_sum(base.harmful_subspace, top_left_singular(m, rank)) for h, m in hidden.items()
        }
    }
    if "odds" in values and base.harmful_odds is not None:
        out["refusal"] = {h: float((base.harmful_odds - v).mean()) for h, v in values["odds"].items()}
    if "target_kl" in values and base.target_kl is not None:
        out["untuning"] = {h: float((base.target_kl - v).mean()) for h, v in values["target_kl"].items()}
    if harmless:
        assert base.harmless_subspace is not None
        kl_fn = lambda i, lp: kl_divergence(base.harmless_logprobs[i].unsqueeze(0), lp)  # noqa: E731
        h_hidden, h_values = _sweep_set(engine, harmless, candidates, group, {"kl": kl_fn}, advance)
        out["harmless_generalized_ships"] = {
            h: principal_angle_sum(base.harmless_subspace, top_left_singular(m, rank)) for h, m in h_hidden.items()
        }
        out["harmless_kl"] = {h: float(v.mean()) for h, v in h_values["kl"].items()}
    return out


def objective_values(objective: Objective, components: dict[str, dict[Head, float]]) -> dict[Head, float]:
    reward = components[objective.reward_key]
    if not objective.contrastive or objective.lam == 0:
        return dict(reward)
    penalty = components[objective.penalty_key]
    return {h: v - objective.lam * penalty[h] for h, v in reward.items()}


def eligible_heads(objective: Objective, components: dict[str, dict[Head, float]], heads: Sequence[Head]) -> list[Head]:
    if objective.budget is None:
        return list(heads)
    kl = components["harmless_kl"]
    return [h for h in heads if kl[h] <= objective.budget]


def sahara_contrastive(
    model: nn.Module,
    harmful: Sequence[torch.Tensor],
    harmless: Sequence[torch.Tensor] = (),
    objective: Objective | None = None,
    steps: int = 3,
    rank: int = 1,
    spec: AblationSpec | None = None,
    candidates: Sequence[Head] | None = None,
    batch_size: int | None = None,
    refusal_ids: Sequence[int] | None = None,
    done_steps: Sequence[SaharaStep] = (),
    on_step: Callable[[SaharaStep], None] | None = None,
    show_progress: bool = False,
    beam: int = 1,
    done_beam: Sequence[BeamStep] = (),
    on_result: Callable[[SaharaResult], None] | None = None,
    target_logprobs: Sequence[torch.Tensor] | None = None,  # the untuned model's, (V,) per harmful prompt
) -> tuple[SaharaResult, str | None]:
    """Sahara's search on ``objective``. Returns the result and why it stopped early (or None).

    Each step's record holds ``scores`` (the objective, L x H) and every component as its own L x H grid
    (see ``step_components``). Under a budget a group can only add eligible heads, and the search stops early
    when no group of the beam has one left. With ``Objective()`` (kl reward, plain) it picks what
    ``sahara.sahara`` picks; ``beam``, ``done_beam`` and ``on_result`` work as there.
    """
    objective = objective or Objective()
    if objective.reward == "refusal" and not refusal_ids:
        raise SafetyHeadsError("the refusal reward needs the refusal token ids (specificity.refusal_token_ids)")
    if objective.reward == "untune" and target_logprobs is None:
        raise SafetyHeadsError("the untune reward needs the untuned model's distributions (judges.next_token_logprobs)")
    if objective.needs_harmless and not harmless:
        raise SafetyHeadsError("the contrastive objective needs harmless prompts")
    engine = Engine(model, spec, batch_size)
    pool = validate_heads(
        candidates if candidates is not None else engine.shape.all_heads(engine.spec), engine.shape, engine.spec
    )
    harmless = list(harmless) if objective.needs_harmless else []
    check_search(steps, len(pool), rank, len(harmful), "harmful ", beam=beam)
    if harmless:
        check_search(steps, len(pool), rank, len(harmless), "harmless ", beam=beam)
    history = resume_history(done_steps, done_beam, beam, steps)
    if len(history) >= steps:
        return beam_result(history, beam), None
    base = sahara_base(engine, harmful, harmless, rank, refusal_ids, target_logprobs)

    def score(group: tuple[Head, ...], remaining: list[Head], advance: Callable[[int], None]) -> Sweep:
        parts = step_components(engine, harmful, harmless, remaining, group, rank, base, refusal_ids, advance)
        return Sweep(objective_values(objective, parts), eligible_heads(objective, parts, remaining), parts)

    failed = run_beam(
        pool,
        steps,
        beam,
        engine.shape,
        engine.spec,
        score,
        history,
        len(harmful) + len(harmless),
        reporter(beam, on_step, on_result),
        show_progress,
    )
    stopped: str | None = None
    if failed is not None:
        best = min(v for sweep in failed for v in sweep.extra["harmless_kl"].values())
        stopped = (
            f"step {len(history) + 1}: no remaining head keeps the mean harmless KL within the budget "
            f"{objective.budget:g} (lowest {best:.4g})"
        )
    return beam_result(history, beam), stopped
