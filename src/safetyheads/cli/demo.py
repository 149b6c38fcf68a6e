"""``safetyheads demo``: the whole study on the safety-tuned model (``safetyheads.study.demo.run_demo``), then the
HTML report (``safetyheads.report``), and the summary printed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from safetyheads.cli.common import console, results_table

stdout = Console()


def demo(
    out: Annotated[Path, typer.Option("--out", help="Run directory.")] = Path("runs/demo"),
    model: Annotated[
        str | None, typer.Option("--model", help="Default: smollm2-135m-safety (built on first use).")
    ] = None,
    prompts: Annotated[int, typer.Option("--prompts", help="Attribution prompts for Ships and Sahara.")] = 3,
    steps: Annotated[int, typer.Option("--steps", help="Sahara steps (group size).")] = 3,
    eval_limit: Annotated[int, typer.Option("--eval-limit", help="Evaluation prompts for ASR.")] = 50,
    help_limit: Annotated[int, typer.Option("--help-limit", help="Items per helpfulness task.")] = 100,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 32,
    random_draws: Annotated[int, typer.Option("--random-draws", help="Random groups of the same size.")] = 10,
    direction_val: Annotated[
        int, typer.Option("--direction-val", help="Held-apart prompts of each kind that choose the direction's layer.")
    ] = 8,
    direction_max_kl: Annotated[
        float, typer.Option("--direction-max-kl", help="Largest harmless KL (nats) the direction's layer may cause.")
    ] = 1.0,
    pool: Annotated[
        int, typer.Option("--pool", help="Sahara searches the top N heads of its score's Ships ranking (0: all).")
    ] = 30,
    base_model: Annotated[
        str | None, typer.Option("--base-model", help="Model to compare heads with (default: the organism's base).")
    ] = None,
    help_tasks: Annotated[
        str,
        typer.Option(
            "--help-tasks",
            help="Helpfulness tasks, comma-separated, as for `helpfulness --tasks`. BoolQ is off by default: the "
            "organism scores below its majority answer, so it cannot show damage.",
        ),
    ] = "arc_easy",
    direction_every_layer: Annotated[
        bool,
        typer.Option(
            "--direction-every-layer/--direction-within-kl",
            help="Answer held-apart prompts at every candidate layer of the direction, or only at layers within "
            "--direction-max-kl (the default: the others cannot be chosen).",
        ),
    ] = False,
    contrastive: Annotated[
        bool,
        typer.Option(
            "--contrastive",
            help="Also run the contrastive (helpfulness-penalised) Sahara search and measure its group.",
        ),
    ] = False,
    sc_variants: Annotated[
        bool, typer.Option("--sc-variants", help="Also evaluate each Sahara group under sc.")
    ] = False,
) -> None:
    """Find safety heads in the safety-tuned model and measure what ablating them does, against controls."""
    from safetyheads.report.plots import side_by_side_png
    from safetyheads.report.report import build_report
    from safetyheads.study.demo import DemoSettings, run_demo

    settings = DemoSettings(model, prompts, steps, eval_limit, help_limit, max_new_tokens, random_draws,
                            direction_val, direction_max_kl, pool, base_model, help_tasks,
                            direction_every_layer, contrastive, sc_variants)  # fmt: skip
    n_stages = settings.n_stages
    counter = iter(range(1, n_stages + 1))

    def stage(title: str, work) -> None:
        console.rule(f"[bold]{next(counter)}/{n_stages} {title}")
        t0 = time.perf_counter()
        work()
        console.print(f"{title}: {time.perf_counter() - t0:.0f} s")

    done = run_demo(out, settings, stage, say=console.print, status=console.status, compare_figure=side_by_side_png)
    stage("report", lambda: build_report(out, None, 10))
    print_summary(done.name, done.rows, done.summary)
    console.print(f"demo finished in {done.times['total'] / 60:.1f} min; report: {out / 'report.html'}")


def print_summary(name: str, rows, summary: dict) -> None:
    from safetyheads.study.study import columns, measured_tasks

    tasks = measured_tasks(rows)
    table = results_table(
        f"demo on {name}: AdvBench evaluation prompts and zero-shot helpfulness",
        columns(tasks),
        text=3,
        lists=["heads"],
    )
    for r in rows:
        condition, heads, *rest = r.cells(tasks)
        table.add_row(condition, heads.replace(",", ", "), *rest)
    stdout.print(table)
    finding = summary["finding"]
    random_gain, ci = finding["random_mean_complied_gain"], finding["random_mean_complied_gain_ci"]
    if random_gain is not None:
        stdout.print(
            f"random groups ({finding['n_random_groups']}): mean gain in complied share {random_gain:+.2f} "
            f"[{ci[0]:+.2f}, {ci[1]:+.2f}]"
        )
    tasks = finding["tasks_that_can_show_damage"]
    stdout.print(
        "helpfulness judged on: "
        + (
            ", ".join(tasks)
            if tasks
            else "no task (none is clearly above chance and the majority answer for the unablated model)"
        )  # fmt: skip
    )
    for group, v in finding["groups"].items():
        gain_ci = v["complied_gain_ci"]
        gain = f"complied gain {v['complied_gain']:+.2f}" + (
            f" [{gain_ci[0]:+.2f}, {gain_ci[1]:+.2f}]" if gain_ci else ""
        )
        if v["helpfulness_within_5_points"] is None and not v["helpfulness_drop"]:  # an sc variant: ASR only
            stdout.print(f"{group} ({v['heads']}): {gain}")
            continue
        drops = ", ".join(f"{t} {(-d or 0.0):+.3f}" for t, d in v["helpfulness_drop"].items())  # no "-0.000"
        checks = [
            f"gain >= 0.3: {'yes' if v['gain_ge_0.3'] else 'no'}",
            f"interval above random: {'yes' if v['above_random'] else 'no'}",
            "helpfulness within 5 points: "
            + {True: "yes", False: "no", None: "cannot tell"}[v["helpfulness_within_5_points"]],
        ]
        met = "finding met" if v["finding_met"] else "finding not met"
        stdout.print(f"{group} ({v['heads']}, {v['kind']}): {gain}; {drops}; {'; '.join(checks)}: {met}")
    h = summary.get("headline") or {}
    if h.get("best_group"):
        direction = f"{h['direction_gain']:+.2f}" if h.get("direction_gain") is not None else "not measured"
        stdout.print(
            f"headline: the largest complied gain of a group of at most 3 heads is {h['best_group_gain']:+.2f} "
            f"({h['best_group']}: {h['best_group_heads']}); refusal direction {direction}; random groups "
            f"{h['random_mean_gain']:+.2f} on average"
        )
    overlap = summary.get("overlap")
    if overlap:
        stdout.print(f"base vs tuned heads: {overlap_line(overlap)}")


def overlap_line(overlap: dict) -> str:
    parts = [f"Jaccard@{o['k']} {o['jaccard']:.2f} (chance {o['jaccard_chance']:.2f})" for o in overlap["overlap"]]
    if overlap.get("spearman") is not None:
        parts.append(f"Spearman {overlap['spearman']:.2f}")
    return ", ".join(parts)
