"""``safetyheads ablate``: save a model with heads ablated in its weights."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import torch
import typer

from safetyheads.cli import common as c
from safetyheads.core.ablation import ablated, without_direction
from safetyheads.core.direction import (
    RefusalDirection,
    check_bakeable_direction,
    parameter_budget,
    save_without_direction,
)
from safetyheads.core.families import model_shape
from safetyheads.core.heads import describe_unit, parse_heads
from safetyheads.core.surgery import check_bakeable, save_ablated
from safetyheads.runs.planning import chosen_heads
from safetyheads.types import AblationKind, AblationSpec, SafetyHeadsError

PROBE = "Explain how attention heads work in a transformer."
# Largest logit difference tolerated between the saved model and runtime ablation, per dtype.
VERIFY_TOLERANCE = {torch.float32: 1e-3, torch.bfloat16: 0.25, torch.float16: 0.05}


def _check_out(out: Path, model: str, overwrite: bool) -> None:
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
    from transformers import AutoModelForCausalLM

    if tokenizer is not None:
        ids = tokenizer(PROBE, return_tensors="pt").input_ids
    else:
        ids = torch.arange(1, 9).unsqueeze(0)
    ids = ids.to(device)
    with runtime():
        expected = lm(input_ids=ids, use_cache=False).logits.float()
    dtype = next(lm.parameters()).dtype
    saved = AutoModelForCausalLM.from_pretrained(str(out), dtype=dtype).to(device).eval()
    try:
        got = saved(input_ids=ids, use_cache=False).logits.float()
    finally:
        del saved
    return float((got - expected).abs().max())


def ablate(
    model: c.Model,
    out: Annotated[Path, typer.Option("--out", help="Directory for the saved model (a standard HF model dir).")],
    heads: Annotated[str | None, typer.Option("--heads", help="Heads to ablate, e.g. '2-26,3.8,L4H1'.")] = None,
    direction: Annotated[
        Path | None,
        typer.Option("--direction", help="Instead of heads: project this refusal direction out of the weights."),
    ] = None,
    ablation: Annotated[str, typer.Option("--ablation", help="ua-q, ua-k, sc or zero (not mean).")] = "ua-q",
    epsilon: c.Epsilon = c.DEFAULT_EPS,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Write into a non-empty --out directory.")] = False,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Reload the saved model and compare it with runtime ablation.")
    ] = True,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
) -> None:
    """Bake an ablation (heads, or a refusal direction) into the weights and save the model."""
    if (heads is None) == (direction is None):
        raise SafetyHeadsError("give exactly one of --heads (head ablation) or --direction DIR (direction ablation)")
    if direction is not None:
        if ablation != "ua-q" or epsilon != c.DEFAULT_EPS:
            raise SafetyHeadsError("--ablation and --epsilon apply to heads; --direction takes neither")
        return ablate_direction(model, direction, out, overwrite, verify, device, dtype)
    spec = AblationSpec.parse(ablation, epsilon)
    check_bakeable(None, spec)  # refuses mean before loading anything
    parsed = parse_heads(heads)
    if not parsed:
        raise SafetyHeadsError("--heads is empty; name at least one head, e.g. --heads 2-26")
    _check_out(out, model, overwrite)
    lm, tokenizer = c.load(model, device, dtype)
    check_bakeable(lm, spec)
    chosen = chosen_heads(heads, model_shape(lm), spec) or []
    existed = out.exists()
    save_ablated(lm, tokenizer, chosen, spec, out, source=model)
    if verify:
        _verify(lm, tokenizer, lambda: ablated(lm, chosen, spec), out, existed, device)
    shape = model_shape(lm)
    units = "; ".join(describe_unit(h, shape, spec) for h in chosen)
    eps = "0" if spec.kind is AblationKind.ZERO else f"{spec.epsilon:g}"
    c.console.print(f"ablated {units} with {spec.kind.value} (epsilon {eps}) in the weights")
    c.console.print(f"wrote {out} (load it with AutoModelForCausalLM.from_pretrained or --model {out})")


def ablate_direction(model: str, path: Path, out: Path, overwrite: bool, verify: bool, device: str, dtype: str) -> None:
    """``ablate --direction``: the direction projected out of every residual-stream write, saved and checked."""
    found = RefusalDirection.load(path)  # a bad directory fails before the model loads
    _check_out(out, model, overwrite)
    lm, tokenizer = c.load(model, device, dtype)
    check_bakeable_direction(lm)
    existed = out.exists()
    save_without_direction(lm, tokenizer, found, out, source=model)
    if verify:
        _verify(lm, tokenizer, lambda: without_direction(lm, found.vector), out, existed, device)
    budget = parameter_budget(lm)
    c.console.print(
        f"projected the refusal direction (after layer {found.layer}) out of the weights: one "
        f"{budget['free_parameters']}-dimensional vector ({budget['free_share']:.5%} of the parameters) "
        f"edits {budget['edited_share']:.1%} of them"
    )
    c.console.print(f"wrote {out} (load it with AutoModelForCausalLM.from_pretrained or --model {out})")


def _verify(lm, tokenizer, runtime, out: Path, existed: bool, device: str) -> None:
    """Compare the saved directory with the run-time intervention; remove what was written when they differ."""
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
    c.console.print(f"verified: saved model matches runtime ablation (max logit difference {diff:.2g})")
