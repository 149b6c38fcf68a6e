"""``safetyheads demo``: a short end-to-end study on a built-in model, made of the regular commands.

It runs, in one run directory: per-query Ships over AdvBench attribution prompts, a Sahara group, the keyword
ASR (with coherence) on AdvBench evaluation prompts with and without that group ablated, ARC-Easy/BoolQ
helpfulness with and without it, and the HTML report. Each step is the command a user would run by hand,
so the run directory resumes like any other.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from safetyheads.commands.common import console

stdout = Console()


def _default_model() -> str:
    from safetyheads.model_cache import complete_entry

    return "smollm2-135m-safety" if complete_entry("smollm2-135m-safety") is not None else "smollm2-135m-instruct"


def demo(
    out: Annotated[Path, typer.Option("--out", help="Run directory.")] = Path("runs/demo"),
    model: Annotated[str | None, typer.Option("--model", help="Default: smollm2-135m-safety if built.")] = None,
    prompts: Annotated[int, typer.Option("--prompts", help="Attribution prompts for Ships and Sahara.")] = 4,
    steps: Annotated[int, typer.Option("--steps", help="Sahara steps (group size).")] = 3,
    eval_limit: Annotated[int, typer.Option("--eval-limit", help="Evaluation prompts for ASR.")] = 20,
    help_limit: Annotated[int, typer.Option("--help-limit", help="Items per helpfulness task.")] = 30,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 64,
) -> None:
    """Find a head group on a built-in model and measure what ablating it does (a few minutes on a CPU)."""
    from safetyheads.cli import main

    name = model or _default_model()
    out.mkdir(parents=True, exist_ok=True)
    common = ["--model", name, "--template", "chat"]
    started = time.perf_counter()

    def step(title: str, argv: list[str]) -> None:
        console.rule(f"[bold]{title}")
        t0 = time.perf_counter()
        code = main(argv)
        if code != 0:
            raise typer.Exit(code)
        console.print(f"{title}: {time.perf_counter() - t0:.0f} s")

    attribution = ["--dataset", "advbench:attribution", "--limit", str(prompts)]
    step("1/6 per-query Ships", ["ships", *common, *attribution, "--out", str(out / "ships")])
    step("2/6 Sahara", ["sahara", *common, *attribution, "--steps", str(steps), "--out", str(out / "sahara")])
    group = ",".join(
        f"{layer}-{head}" for layer, head in json.loads((out / "sahara" / "sahara.json").read_text())["group"]
    )
    evaluation = [
        "--dataset",
        "advbench:evaluation",
        "--limit",
        str(eval_limit),
        "--max-new-tokens",
        str(max_new_tokens),
    ]
    step("3/6 ASR, no heads ablated", ["eval", *common, *evaluation, "--out", str(out / "eval_base")])
    step(f"4/6 ASR, Sahara group {group} ablated",
         ["eval", *common, *evaluation, "--heads", group, "--out", str(out / "eval_sahara")])  # fmt: skip
    step("5/6 helpfulness", ["helpfulness", "--model", name, "--heads", group, "--tasks", "arc_easy,boolq",
                             "--limit", str(help_limit), "--out", str(out / "helpfulness")])  # fmt: skip
    step("6/6 report", ["report", str(out)])

    table = Table(title=f"demo on {name}: Sahara group {group} (ua-q)")
    for col in ("measure", "base", "group ablated"):
        table.add_column(col, justify="right")
    base = json.loads((out / "eval_base" / "eval_summary.json").read_text())
    abl = json.loads((out / "eval_sahara" / "eval_summary.json").read_text())
    for key in ("asr", "asr_coherent", "degenerate_rate"):
        table.add_row(key, f"{base[key]:.2f}", f"{abl[key]:.2f}")
    helpful = json.loads((out / "helpfulness" / "helpfulness.json").read_text())
    for task in ("arc_easy", "boolq"):
        if task in helpful and task in helpful.get("base", {}):
            table.add_row(f"{task} accuracy", f"{helpful['base'][task]['accuracy']:.2f}",
                          f"{helpful[task]['accuracy']:.2f}")  # fmt: skip
    stdout.print(table)
    console.print(f"demo finished in {(time.perf_counter() - started) / 60:.1f} min; report: {out / 'report.html'}")
