"""The Ships screen: every head scored from one forward and a few backward passes per prompt (AtP*-style).

Exact Ships costs one ablated forward per head. The screen (after attribution patching and its corrected form AtP*,
Kramár et al., 2024) instead:

1. runs one forward in which every layer's attention also runs once more with *all* its heads ablated by the spec's
   own ablation, on the forward pass's own query, key and value (``ablation.Tap``). Each head's change ``Δ_h`` of its
   attention output is therefore exact at its own layer: under ``ua-q`` each position's output becomes the mean of
   the values over its (causal, windowed) prefix, which is AtP*'s correction for saturated attention; under ``sc``
   and ``zero`` the change is the scaled output;
2. carries ``Δ_h`` to the output through gradients taken at the unablated point:

   * first order, for scores whose gradient there is non-zero (the refusal log-odds of ``specificity``):
     ``refusal_h ≈ -∇odds · Δ_h`` (base minus ablated, as ``ships --score refusal`` reports it);
   * second order, for Ships itself (a KL, whose value and gradient are zero there):
     ``Ships_h ≈ ½ Σ_y p(y) (∇ log p(y) · Δ_h)²`` over the ``tokens`` most probable next tokens ``y`` of p_base
     (the Fisher information's quadratic form, truncated to those tokens; ``mass`` records the probability they
     cover).

Cost per prompt: one forward with the tap (a second attention call per layer) and one backward per token (plus one
for the refusal score), against one forward per head for the exact sweep. Only the probes' gradients are computed:
the model's parameters are frozen for the duration, so no weight gradients are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from safetyheads.core.ablation import AblationPlan, Tap, install
from safetyheads.core.families import model_shape
from safetyheads.core.heads import validate_heads
from safetyheads.core.progress import Progress
from safetyheads.scores.ships import scores_grid
from safetyheads.scores.specificity import refusal_log_odds
from safetyheads.types import AblationSpec, Head, ModelShape, SafetyHeadsError, ShipsResult

DEFAULT_TOKENS = 8
BACKWARD_COST = 2.0  # forward-equivalents of one backward pass (the usual estimate; the weight gradients are skipped)


@dataclass
class ScreenCost:
    """What screening cost: passes, their forward-equivalents and seconds."""

    forwards: int = 0
    backwards: int = 0
    seconds: float = 0.0

    @property
    def forward_equivalents(self) -> float:
        return self.forwards + BACKWARD_COST * self.backwards

    def add(self, other: ScreenCost) -> None:
        self.forwards += other.forwards
        self.backwards += other.backwards
        self.seconds += other.seconds

    def as_dict(self) -> dict:
        return {
            "forwards": self.forwards,
            "backwards": self.backwards,
            "forward_equivalents": self.forward_equivalents,
            "seconds": self.seconds,
        }


@dataclass
class PromptScreen:
    """The screen of one prompt: estimated Ships (and refusal change) of every head."""

    kl: dict[Head, float]
    refusal: dict[Head, float] | None
    mass: float  # probability of p_base covered by the tokens of the second-order estimate
    cost: ScreenCost = field(default_factory=ScreenCost)


@contextmanager
def _frozen(model: nn.Module) -> Iterator[None]:
    """Parameters without gradients for the block (only the probes need them), restored afterwards."""
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


@contextmanager
def tapped(model: nn.Module, spec: AblationSpec) -> Iterator[Tap]:
    """Forwards in the block record each layer's per-head changes under ``spec`` and gradient probes."""
    state = install(model)
    if state.plan is not None or state.skip is not None:
        raise SafetyHeadsError("the screen runs on the unablated model; it cannot run inside another ablation")
    shape = model_shape(model)
    every_head = AblationPlan.build([shape.all_heads(spec)], spec, shape)  # one row, all heads of every layer
    tap = Tap(plan=every_head.placed(model))
    state.tap = tap
    try:
        with _frozen(model):
            yield tap
    finally:
        state.tap = None


def _per_head(grads: Sequence[torch.Tensor], deltas: Sequence[torch.Tensor], shape: ModelShape, spec: AblationSpec):
    """(L, units) of ``grad · Δ`` per head (per key head under ``ua-k``: the sum over the query heads it serves)."""
    rows = [(g[0].double() * d[0].double()).sum(dim=(0, 2)) for g, d in zip(grads, deltas, strict=True)]
    out = torch.stack(rows)  # (L, n_heads)
    if spec.kind.acts_on_key_heads:
        out = out.reshape(len(rows), shape.n_kv_heads, shape.group_size).sum(dim=-1)
    return out


GRAD_ROWS = 8  # backward passes batched together (``is_grads_batched``); bounds the extra memory


def _refusal_seed(logp: torch.Tensor, refusal_ids: Sequence[int]) -> torch.Tensor:
    """d(refusal log-odds)/d(log p) at ``logp``."""
    lp = logp.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(refusal_log_odds(lp, refusal_ids), lp)
    return grad


def _batched_products(logp, probes, deltas, seeds, shape: ModelShape, spec: AblationSpec) -> torch.Tensor:
    """For each row r of ``seeds``: per head, (gradient of seeds[r] . log p with respect to the head's output) . Δ."""
    rows = []
    for start in range(0, len(seeds), GRAD_ROWS):
        chunk = seeds[start : start + GRAD_ROWS]
        last = start + GRAD_ROWS >= len(seeds)
        grads = torch.autograd.grad(logp, probes, grad_outputs=chunk, retain_graph=not last, is_grads_batched=True)
        for i in range(len(chunk)):
            rows.append(_per_head([g[i] for g in grads], deltas, shape, spec).cpu())
    return torch.stack(rows)


def screen_prompt(
    model: nn.Module,
    input_ids: torch.Tensor,
    spec: AblationSpec | None = None,
    tokens: int = DEFAULT_TOKENS,
    refusal_ids: Sequence[int] | None = None,
) -> PromptScreen:
    """Estimated Ships of every head for one tokenised prompt (1, T); with ``refusal_ids``, the refusal change too."""
    spec = spec or AblationSpec()
    shape = model_shape(model)
    if tokens < 1:
        raise SafetyHeadsError(f"the screen needs at least one token for its second-order estimate, not {tokens}")
    device = next(model.parameters()).device
    start = time.perf_counter()
    with tapped(model, spec) as tap, torch.enable_grad():
        # a layer the tap did not run on fails inside the forward (``ablation``: every planned layer must run)
        out = model(input_ids=input_ids.to(device), use_cache=False, logits_to_keep=1)
        logp = out.logits[0, -1].double().log_softmax(dim=-1)
        layers = sorted({h.layer for h in shape.all_heads(spec)})  # every layer but a hybrid model's others
        probes = [tap.probes[layer] for layer in layers]
        deltas = [tap.deltas[layer] for layer in layers]
        probs = logp.detach().exp()
        top = probs.topk(min(tokens, probs.numel()))
        # one backward per output: the rows of ``seeds`` are d(output)/d(log p); batched through the backward
        seeds = torch.zeros(len(top.indices), logp.numel(), dtype=logp.dtype, device=logp.device)
        seeds[torch.arange(len(top.indices)), top.indices] = 1.0
        if refusal_ids:
            seeds = torch.cat([seeds, _refusal_seed(logp.detach(), refusal_ids)[None]])
        per_head = _batched_products(logp, probes, deltas, seeds, shape, spec)  # (rows, layers with heads, units)
    n = len(top.indices)
    fisher = (top.values.cpu()[:, None, None] * per_head[:n] ** 2).sum(dim=0)
    refusal = -per_head[n] if refusal_ids else None
    backwards = len(seeds)
    kl = 0.5 * fisher
    heads = shape.all_heads(spec)
    row = {layer: i for i, layer in enumerate(layers)}
    cost = ScreenCost(forwards=1, backwards=backwards, seconds=time.perf_counter() - start)
    return PromptScreen(
        kl={h: float(kl[row[h.layer], h.head]) for h in heads},
        refusal=None if refusal is None else {h: float(refusal[row[h.layer], h.head]) for h in heads},
        mass=float(top.values.sum()),
        cost=cost,
    )


def screen_ships(
    model: nn.Module,
    prompts: Sequence[tuple[str, torch.Tensor]],
    spec: AblationSpec | None = None,
    tokens: int = DEFAULT_TOKENS,
    heads: Sequence[Head] | None = None,
    refusal_ids: Sequence[int] | None = None,
    on_result: Callable[[int, ShipsResult, PromptScreen], None] | None = None,
    skip: Callable[[int], bool] | None = None,
    show_progress: bool = False,
) -> list[ShipsResult]:
    """Screened Ships of every head (reported for ``heads`` when given) for each (text, input_ids) prompt.

    Results are ``ShipsResult`` grids like the exact sweep's, with ``extra["refusal"]`` under ``refusal_ids``;
    ``on_result(i, result, screen)`` streams them, and prompts with ``skip(i)`` are not computed (resuming).
    """
    spec = spec or AblationSpec()
    shape = model_shape(model)
    keep = set(validate_heads(heads, shape, spec)) if heads is not None else None
    results: list[ShipsResult] = []
    todo = [i for i in range(len(prompts)) if not (skip and skip(i))]
    with Progress(enabled=show_progress) as progress:
        task = progress.task("Ships screen", total=len(todo))
        for i in todo:
            text, ids = prompts[i]
            screen = screen_prompt(model, ids, spec, tokens, refusal_ids)
            result = ShipsResult(prompt=text, scores=scores_grid(shape, spec, _only(screen.kl, keep)))
            if screen.refusal is not None:
                result.extra["refusal"] = scores_grid(shape, spec, _only(screen.refusal, keep))
            results.append(result)
            if on_result is not None:
                on_result(i, result, screen)
            progress.advance(task, 1)
    return results


def _only(values: dict[Head, float], keep: set[Head] | None) -> dict[Head, float]:
    return values if keep is None else {h: v for h, v in values.items() if h in keep}


def exact_sweep_cost(shape: ModelShape, spec: AblationSpec, heads: Sequence[Head] | None = None) -> float:
    """Forward-equivalents of the exact sweep for one prompt: the capture forward, and per head the layers from its
    own up (the engine reuses the layers below)."""
    heads = list(heads) if heads is not None else shape.all_heads(spec)
    return 1.0 + sum((shape.n_layers - h.layer) / shape.n_layers for h in heads)
