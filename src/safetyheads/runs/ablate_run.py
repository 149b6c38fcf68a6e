"""``ablate`` as a library call: a model saved with heads (or a refusal direction) ablated in its weights, reloaded
and checked against the run-time intervention; what was written is removed when they differ."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from safetyheads.core.ablation import ablated, without_direction
from safetyheads.core.direction import (
    RefusalDirection,
    check_bakeable_direction,
    parameter_budget,
    save_without_direction,
)
from safetyheads.core.families import model_shape
from safetyheads.core.heads import describe_unit
from safetyheads.core.surgery import check_bakeable, save_ablated
from safetyheads.data.loading import load_shared, model_class
from safetyheads.runs.planning import chosen_heads, named_heads
from safetyheads.types import AblationKind, AblationSpec, SafetyHeadsError

PROBE = "Explain how attention heads work in a transformer."
# Largest logit difference tolerated between the saved model and runtime ablation, per dtype.
VERIFY_TOLERANCE = {torch.float32: 1e-3, torch.bfloat16: 0.25, torch.float16: 0.05}


def check_out(out: Path, model: str, overwrite: bool) -> None:
    source = Path(model).expanduser()
    if source.exists() and source.resolve() in (out.resolve(), *out.resolve().parents):
        raise SafetyHeadsError(f"--out {out} is inside the source model {model}; choose another directory")
    if out.exists() and not out.is_dir():
        raise SafetyHeadsError(f"--out {out} is a file; give a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise SafetyHeadsError(f"--out {out} is not empty; choose a new directory or pass --overwrite")


@torch.no_grad()
def verify_saved(lm, tokenizer, runtime, out: Path, device: str) -> float:
    """Largest |logit difference| between the saved directory and the run-time intervention ``runtime()`` (a
    context manager factory) on a probe prompt."""
    if tokenizer is not None:
        ids = tokenizer(PROBE, return_tensors="pt").input_ids
    else:
        ids = torch.arange(1, 9).unsqueeze(0)
    ids = ids.to(device)
    with runtime():
        expected = lm(input_ids=ids, use_cache=False).logits.float()
    dtype = next(lm.parameters()).dtype
    saved = model_class(str(out)).from_pretrained(str(out), dtype=dtype).to(device).eval()
    try:
        got = saved(input_ids=ids, use_cache=False).logits.float()
    finally:
        del saved
    return float((got - expected).abs().max())


@dataclass
class Ablated:
    """What ``ablate_run`` saved: where, what it ablated (in words) and how far the saved model is from run time."""

    out: Path
    what: str
    verified_diff: float | None  # largest logit difference from the run-time intervention (None: not verified)
    budget: dict | None = None  # a direction's parameter budget (``direction.parameter_budget``)


def ablate_run(
    model: str,
    out: str | Path,
    heads: str | None = None,
    spec: AblationSpec | None = None,
    direction: RefusalDirection | None = None,
    overwrite: bool = False,
    verify: bool = True,
    device: str = "cpu",
    dtype: str = "float32",
    status=None,
) -> Ablated:
    """``safetyheads ablate``: ``model`` with ``heads`` (a head list text, under ``spec``) or ``direction`` ablated in
    its weights, saved to ``out`` and (``verify``) reloaded and compared with the run-time intervention."""
    out = Path(out)
    if (heads is None) == (direction is None):
        raise SafetyHeadsError("give exactly one of --heads (head ablation) or --direction DIR (direction ablation)")
    if direction is not None:
        if spec is not None:
            raise SafetyHeadsError("--ablation and --epsilon apply to heads; --direction takes neither")
        check_out(out, model, overwrite)
        lm, tokenizer = load_shared(model, device, dtype, status)
        check_bakeable_direction(lm)
        existed = out.exists()
        save_without_direction(lm, tokenizer, direction, out, source=model)
        diff = _verify(lm, tokenizer, lambda: without_direction(lm, direction.vector), out, existed, device, verify)
        what = f"the refusal direction (after layer {direction.layer})"
        return Ablated(out, what, diff, parameter_budget(lm))
    spec = spec or AblationSpec()
    check_bakeable(None, spec)  # refuses mean before loading anything
    named_heads(heads)
    check_out(out, model, overwrite)
    lm, tokenizer = load_shared(model, device, dtype, status)
    check_bakeable(lm, spec)
    chosen = chosen_heads(heads, model_shape(lm), spec) or []
    existed = out.exists()
    save_ablated(lm, tokenizer, chosen, spec, out, source=model)
    diff = _verify(lm, tokenizer, lambda: ablated(lm, chosen, spec), out, existed, device, verify)
    shape = model_shape(lm)
    units = "; ".join(describe_unit(h, shape, spec) for h in chosen)
    eps = "0" if spec.kind is AblationKind.ZERO else f"{spec.epsilon:g}"
    return Ablated(out, f"{units} with {spec.kind.value} (epsilon {eps})", diff)


def _verify(lm, tokenizer, runtime: Callable, out: Path, existed: bool, device: str, verify: bool) -> float | None:
    """Compare the saved directory with the run-time intervention; remove what was written when they differ."""
    if not verify:
        return None
    diff = verify_saved(lm, tokenizer, runtime, out, device)
    tolerance = VERIFY_TOLERANCE.get(next(lm.parameters()).dtype, 0.25)
    if not diff <= tolerance:
        if existed:
            for name in ("model.safetensors", "model.safetensors.index.json", "config.json"):
                (out / name).unlink(missing_ok=True)
        else:
            shutil.rmtree(out, ignore_errors=True)
        raise SafetyHeadsError(
            f"the saved model differs from runtime ablation (max logit difference {diff:.3g} > {tolerance:g}); "
            "nothing was kept. Please report this; use runtime ablation (safetyheads eval) meanwhile"
        )
    return diff
