"""``safetyheads compare``, ``swap`` and ``qkv-check``, and the options of the ``--score`` / ``--objective``
variants of ``ships`` and ``sahara`` (``safetyheads.runs.sweep_runs`` runs those)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from safetyheads.cli import common as c
from safetyheads.evaluation.judges import DEFAULT_JUDGE
from safetyheads.scores.specificity import (
    HARMLESS_QUESTIONS,
)
from safetyheads.study.qkv_check import QKV_KINDS
from safetyheads.types import SafetyHeadsError

stdout = Console()

# ---------------------------------------------------------------------------------------------- options

ScoreOpt = Annotated[
    str,
    typer.Option(
        "--score",
        help="kl (the paper's: Ships / generalized Ships), refusal (refusal log-odds change, positive: refuses "
        "less), contrastive (harmful minus --lambda x harmless) or, for sahara, untune (how much closer the "
        "ablation brings the harmful next-token distribution to --base-model's, the untuned model).",
    ),
]
LambdaOpt = Annotated[
    float | None,
    typer.Option(
        "--lambda",
        help="Weight of the harmless penalty for --score/--objective contrastive (default 1, or 0 with "
        "--harmless-kl-budget).",
    ),
]
HarmlessPromptsOpt = Annotated[
    Path | None, typer.Option("--harmless-prompts", help="Harmless prompts file for the contrastive score.")
]
HarmlessDatasetOpt = Annotated[
    str | None,
    typer.Option(
        "--harmless-dataset",
        help=f"Built-in harmless set: '{HARMLESS_QUESTIONS}' (the default: ARC-Easy, BoolQ and OpenBookQA "
        "questions) or a prompt dataset name.",
    ),
]
HarmlessLimitOpt = Annotated[
    int | None,
    typer.Option("--harmless-limit", help="Harmless prompts to use (default: as many as harmful prompts)."),
]
ObjectiveOpt = Annotated[
    str | None,
    typer.Option(
        "--objective",
        help="plain (the reward alone) or contrastive (reward minus --lambda x harmless movement, and/or "
        "--harmless-kl-budget). Default: contrastive for --score contrastive, else plain.",
    ),
]
BudgetOpt = Annotated[
    float | None,
    typer.Option(
        "--harmless-kl-budget",
        help="Contrastive Sahara: heads whose group ablation's mean harmless KL exceeds this are not eligible.",
    ),
]
ANSWER_TOKENS = 64  # swap and qkv-check answer length
MaxNewTokens = Annotated[int, typer.Option("--max-new-tokens", help="Tokens to generate per answer.")]
JudgeName = Annotated[
    str,
    typer.Option("--judge", help="Judge of the answers: topical (default), keyword (the paper's) or a model judge."),
]
JudgeModelDir = Annotated[
    str | None, typer.Option("--judge-model", help="Local HF judge model directory (llama-guard, yes-no, rubric).")
]


# ---------------------------------------------------------------------------------------------- compare


def compare_cmd(
    run_a: Annotated[Path, typer.Argument(help="First ships run directory (or its ships_mean.csv).")],
    run_b: Annotated[Path, typer.Argument(help="Second ships run directory (or its ships_mean.csv).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output directory (default: RUN_A/compare_<name of RUN_B>).")
    ] = None,
    column: Annotated[
        str, typer.Option("--column", help="ships_mean.csv column: mean (the run's score), kl_mean, refusal_mean, ...")
    ] = "mean",
    ks: Annotated[str, typer.Option("--k", help="Comma-separated k of the top-k overlaps.")] = "1,3,5,10",
) -> None:
    """Do two runs find the same safety heads? Jaccard@k of the top-k heads and Spearman of the scores."""
    from safetyheads.report.plots import side_by_side_png
    from safetyheads.scores.compare import compare_run

    try:
        k_values = [int(k) for k in ks.split(",") if k.strip()]
    except ValueError:
        raise SafetyHeadsError(f"--k must be comma-separated whole numbers, not '{ks}'") from None
    result, out = compare_run(run_a, run_b, out, column, k_values, figure=side_by_side_png)
    a_name, b_name = result["a"]["name"], result["b"]["name"]
    rho = result["spearman"]
    title = f"{a_name} vs {b_name}: {column} over {result['n_heads']} heads, Spearman {_fmt(rho)}"
    tops = (f"top-k {a_name}", f"top-k {b_name}", "shared")
    table = c.results_table(title, ("k", "Jaccard", "chance", *tops), text=0, lists=tops)
    for o in result["overlap"]:
        table.add_row(
            str(o["k"]) if o["k"] == o["k_used"] else f"{o['k']}: all {o['k_used']}",  # only that many in common
            f"{o['jaccard']:.2f}",
            f"{o['jaccard_chance']:.2f}",
            c.list_cell(o["top_a"]),
            c.list_cell(o["top_b"]),
            c.list_cell(o["shared"]),
        )
    stdout.print(table)
    c.console.print(f"wrote {out / 'compare.json'} and {result['figure']}")


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


# ---------------------------------------------------------------------------------------------- swap


def swap_cmd(
    source: Annotated[str, typer.Option("--from", help="BASE model: the component comes from it.")],
    into: Annotated[str, typer.Option("--into", help="ALIGNED model: everything else comes from it.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory: model/, swap.json, eval_*.jsonl.")],
    component: Annotated[str, typer.Option("--component", help="attention or mlp.")] = "attention",
    prompts: c.Prompts = None,
    dataset: c.Dataset = None,
    column: c.Column = None,
    template: c.TemplateOpt = c.DEFAULT_TEMPLATE,
    system: c.System = None,
    limit: c.Limit = None,
    max_new_tokens: MaxNewTokens = ANSWER_TOKENS,
    judge: JudgeName = DEFAULT_JUDGE,
    judge_model: JudgeModelDir = None,
    eval_base: Annotated[bool, typer.Option("--eval-base", help="Also measure BASE's ASR.")] = False,
    evaluate: Annotated[
        bool, typer.Option("--evaluate/--no-evaluate", help="Measure ASR (default) or only save.")
    ] = True,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Write into a non-empty --out directory.")] = False,
    batch_size: c.BatchSize = None,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
) -> None:
    """Save ALIGNED with every layer's attention (or MLP) from BASE, and measure its ASR next to ALIGNED's."""
    from safetyheads.cli.evaluate import judge_options
    from safetyheads.study.swap_run import swap_run

    if not evaluate:  # options that only shape the measurement would do nothing
        unused = {
            "--prompts": prompts is not None, "--dataset": dataset is not None, "--column": column is not None,
            "--limit": limit is not None, "--eval-base": eval_base, "--judge-model": judge_model is not None,
            "--judge": judge != DEFAULT_JUDGE, "--max-new-tokens": max_new_tokens != ANSWER_TOKENS,
            "--system": system is not None,
            "--template": template != c.DEFAULT_TEMPLATE,
        }  # fmt: skip
        if any(unused.values()):
            given = ", ".join(name for name, used in unused.items() if used)
            raise SafetyHeadsError(f"--no-evaluate measures nothing, so {given} would do nothing; drop it or evaluate")
    done = swap_run(
        out, source=source, into=into, component=component,
        items=c.prompt_items(prompts, dataset, column, limit) if evaluate else [], dataset=dataset,
        template=template, system=system, max_new_tokens=max_new_tokens, judge=judge,
        judge_options=judge_options(judge_model), eval_base=eval_base, evaluate=evaluate, overwrite=overwrite,
        batch_size=batch_size, device=device, dtype=dtype, say=c.console.print, status=c.console.status,
    )  # fmt: skip
    if done.summaries:
        table = c.results_table(
            f"Outcomes, {judge} judge: SWAPPED = ALIGNED with BASE's {done.record['component']}",
            ("model", *c.ASR_COLUMNS),
            caption=f"BASE: {source}; ALIGNED: {into}",
        )
        for key in ("base", "aligned", "swapped"):
            if key in done.summaries:
                table.add_row(key.upper(), *c.asr_cells(done.summaries[key]))
        stdout.print(table)
    c.console.print(
        f"swapped {len(done.swapped_parameters)} {done.record['component']} tensors; "
        f"wrote {done.model_dir} and {done.file}"
    )


# ---------------------------------------------------------------------------------------------- qkv-check


def qkv_check_cmd(
    model: c.Model,
    heads: Annotated[str, typer.Option("--heads", help="The group of (query) heads, e.g. '2-26,3.8'.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory (qkv_check.json; a rerun resumes).")],
    prompts: c.Prompts = None,
    dataset: c.Dataset = None,
    column: c.Column = None,
    template: c.TemplateOpt = c.DEFAULT_TEMPLATE,
    system: c.System = None,
    limit: c.Limit = None,
    max_new_tokens: MaxNewTokens = ANSWER_TOKENS,
    tasks: Annotated[str, typer.Option("--tasks", help="Helpfulness tasks (comma-separated MC tasks).")] = (
        "arc_easy,boolq,openbookqa"
    ),
    task_limit: Annotated[int, typer.Option("--task-limit", help="Items per helpfulness task.")] = 100,
    kinds: Annotated[str, typer.Option("--kinds", help="Ablations to compare.")] = ",".join(QKV_KINDS),
    epsilon: c.Epsilon = c.DEFAULT_EPS,
    judge: JudgeName = DEFAULT_JUDGE,
    judge_model: JudgeModelDir = None,
    direction: c.DirectionDir = None,
    batch_size: c.BatchSize = None,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
) -> None:
    """ASR and helpfulness of one head group under ua-q, ua-k, sc and mean (and unablated; with --direction, the
    refusal direction), in one table."""
    from safetyheads.cli.evaluate import judge_options
    from safetyheads.study.qkv_check import qkv_check_run

    done = qkv_check_run(
        out, model=model, heads=heads, items=c.prompt_items(prompts, dataset, column, limit), template=template,
        system=system, max_new_tokens=max_new_tokens, tasks=tasks, task_limit=task_limit, kinds=kinds,
        epsilon=epsilon, judge=judge, judge_options=judge_options(judge_model), direction=c.load_direction(direction),
        batch_size=batch_size, device=device, dtype=dtype, say=c.console.print, status=c.console.status,
    )  # fmt: skip
    columns = ("ablation", *c.ASR_COLUMNS, *done.tasks, "mean acc", "units")
    title = f"{model}: heads {','.join(map(str, done.heads))} under each ablation"
    table = c.results_table(title, columns, lists=["units"])
    for name, row in done.rows.items():
        accs = [f"{row['helpfulness'][t]['accuracy']:.3f}" for t in done.tasks]
        table.add_row(name, *c.asr_cells(row["asr"]), *accs, _fmt(row["mean_accuracy"]), c.list_cell(row["units"]))
    stdout.print(table)
    for note in dict.fromkeys(done.notes):
        c.console.print(f"note: {note}")
    c.console.print(f"wrote {done.file}")
