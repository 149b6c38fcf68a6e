"""``safetyheads organism build``: the safety-tuned model organism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from safetyheads.cli.common import console, results_table
from safetyheads.study.organism import (
    CARD_FILE,
    ORGANISM,
    TARGETS_CAVEAT,
    Recipe,
    build,
    card_answers_path,
    card_run,
)

app = typer.Typer(help="The safety-tuned model organism (smollm2-135m-safety).", no_args_is_help=True)
stdout = Console()


def print_card(card: dict) -> None:
    table = results_table(f"{ORGANISM}: measured on prompts never used in training", ("measure", "base", "tuned"))
    b, t = card["base"], card["tuned"]
    rows = []
    harmful = (
        ("advbench_evaluation", "advbench evaluation half"),
        ("harmbench_heldout", "held-out harmbench"),
        ("donotanswer_malicious", "Do-Not-Answer malicious uses (other form)"),
        ("question_form_harmful", "question-form harmful (other form)"),
    )
    for key, name in ((k, n) for k, n in harmful if k in t):
        if "refused" in t[key]:
            rows += [
                (f"{share}, {name} ({t[key]['judge']})", key, share) for share in ("refused", "complied", "broken")
            ]
        rows.append((f"not complied, {name} (paper's keyword judge)", key, "refusal_keyword"))
    rows += [
        ("refusal, held-out harmless (refusal opening)", "harmless_heldout", "refusal_opening"),
        ("refusal, held-out harmless (keyword)", "harmless_heldout", "refusal_keyword"),
        ("refusal, held-out borderline (refusal opening)", "borderline_heldout", "refusal_opening"),
    ]
    if "question_form_harmless" in t:
        rows.append(("refusal, question-form harmless (refusal opening)", "question_form_harmless", "refusal_opening"))
    for label, key, measure in rows:
        table.add_row(label, f"{b[key][measure]:.1%}", f"{t[key][measure]:.1%}")
    for task in ("arc_easy", "boolq"):
        table.add_row(f"{task} accuracy", f"{b['helpfulness'][task]:.1%}", f"{t['helpfulness'][task]:.1%}")
    stdout.print(table)
    met = ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in card["targets"].items())
    stdout.print(f"targets met by the card's own measures: {met}")
    stdout.print(card.get("targets_caveat", TARGETS_CAVEAT))  # cards written before the caveat was kept in them


@app.command("build")
def build_cmd(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the cache holds this recipe.")] = False,
    method: Annotated[str, typer.Option("--method", help="lora (attention and MLP projections) or full.")] = "lora",
    epochs: Annotated[int, typer.Option("--epochs")] = Recipe.epochs,
    seed: Annotated[int, typer.Option("--seed")] = Recipe.seed,
    learning_rate: Annotated[float | None, typer.Option("--lr", help="Default: 3e-4 (lora), 2e-5 (full).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the model and card here instead of the cache.")
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Any other recipe field, FIELD=VALUE (repeatable), e.g. lora_targets=q_proj,v_proj."
        ),
    ] = None,
) -> None:
    """Safety-tune the built-in model (seeded SFT) and cache it as smollm2-135m-safety, with its card."""
    lr = learning_rate if learning_rate is not None else (Recipe.learning_rate if method == "lora" else 2e-5)
    recipe = Recipe(seed=seed, method=method, epochs=epochs, learning_rate=lr).with_settings(settings or [])
    path = build(recipe, force=force, log=console.print, out=out)
    print_card(json.loads((path / CARD_FILE).read_text()))
    console.print(f"use it with --model {out if out is not None else ORGANISM}; card: {path / CARD_FILE}")
    console.print(f"the answers behind the card: {card_answers_path(path / CARD_FILE)}")


@app.command("card")
def card_cmd(
    out: Annotated[Path, typer.Option("--out", help="Write the card (JSON) to this file.")],
    model: Annotated[str, typer.Option("--model", help="The organism (default: the cached one).")] = ORGANISM,
) -> None:
    """Measure the card of an organism already built, anew (e.g. with the current default judge)."""
    card = card_run(model, out, log=console.print)
    print_card(card)
    console.print(f"wrote {out} and the answers behind it, {card_answers_path(out)}")
