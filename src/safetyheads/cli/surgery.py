"""``safetyheads ablate``: save a model with heads (or a refusal direction) ablated in its weights
(``safetyheads.runs.ablate_run``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safetyheads.cli import common as c
from safetyheads.runs.ablate_run import ablate_run
from safetyheads.types import AblationSpec


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
    heads_options = direction is None or ablation != "ua-q" or epsilon != c.DEFAULT_EPS
    spec = AblationSpec.parse(ablation, epsilon) if heads_options else None
    done = ablate_run(
        model, out, heads, spec, c.load_direction(direction), overwrite, verify, device, dtype, c.console.status
    )
    if done.verified_diff is not None:
        c.console.print(
            f"verified: saved model matches runtime ablation (max logit difference {done.verified_diff:.2g})"
        )
    if done.budget is not None:
        b = done.budget
        c.console.print(
            f"projected {done.what} out of the weights: one {b['free_parameters']}-dimensional vector "
            f"({b['free_share']:.5%} of the parameters) edits {b['edited_share']:.1%} of them"
        )
    else:
        c.console.print(f"ablated {done.what} in the weights")
    c.console.print(f"wrote {done.out} (load it with --model {done.out}, or with transformers' from_pretrained)")
