"""``safetyheads demo``: the whole study on the safety-tuned model, made of the regular commands.

In one run directory it runs: per-query Ships over AdvBench attribution prompts; the paper's Sahara group and
the contrastive (helpfulness-penalised) one; the shares of answers refused, complied (attack success) and
broken, by the default judge, on AdvBench evaluation prompts for no heads, each group and random groups of the
same size; ARC-Easy/BoolQ helpfulness for each; ``ua-q`` against ``sc`` on each Sahara group; Ships on the base
model and the head overlap with the tuned model; the HTML report; and a summary table (``summary.json``,
``summary.md``). Each step is the command a user would run by hand, so an interrupted demo resumes where it
stopped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from safetyheads.commands.common import console, results_table
from safetyheads.organism import BASE_MODEL, ORGANISM

stdout = Console()


def demo(
    out: Annotated[Path, typer.Option("--out", help="Run directory.")] = Path("runs/demo"),
    model: Annotated[
        str | None, typer.Option("--model", help="Default: smollm2-135m-safety (built on first use).")
    ] = None,
    prompts: Annotated[int, typer.Option("--prompts", help="Attribution prompts for Ships and Sahara.")] = 3,
    steps: Annotated[int, typer.Option("--steps", help="Sahara steps (group size).")] = 3,
    eval_limit: Annotated[int, typer.Option("--eval-limit", help="Evaluation prompts for ASR.")] = 20,
    help_limit: Annotated[int, typer.Option("--help-limit", help="Items per helpfulness task.")] = 20,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 32,
    random_draws: Annotated[int, typer.Option("--random-draws", help="Random groups of the same size.")] = 5,
    pool: Annotated[
        int, typer.Option("--pool", help="Sahara searches the top N heads of its score's Ships ranking (0: all).")
    ] = 30,
    base_model: Annotated[
        str | None, typer.Option("--base-model", help="Model to compare heads with (default: the organism's base).")
    ] = None,
) -> None:
    """Find safety heads in the safety-tuned model and measure what ablating them does, against controls."""
    from safetyheads.cli import main
    from safetyheads.commands.common import shared_models
    from safetyheads.compare import read_run, top_k
    from safetyheads.heads import parse_heads
    from safetyheads.study import random_groups, read_row, write_summary
    from safetyheads.types import Head

    started = time.perf_counter()
    times: dict[str, float] = {}
    name = model or ORGANISM
    if name == ORGANISM:
        from safetyheads.organism import build

        t0 = time.perf_counter()
        build(log=console.print)
        times["organism"] = time.perf_counter() - t0
    compare_with = base_model or (BASE_MODEL if name == ORGANISM else None)
    out.mkdir(parents=True, exist_ok=True)
    common = ["--model", name, "--template", "chat"]
    n_stages = 6 + (2 if compare_with else 0)
    counter = iter(range(1, n_stages + 1))

    def run(argv: list[str]) -> None:
        code = main(argv)
        if code != 0:
            raise typer.Exit(code)

    def stage(title: str, work) -> None:
        console.rule(f"[bold]{next(counter)}/{n_stages} {title}")
        t0 = time.perf_counter()
        work()
        times[title] = time.perf_counter() - t0
        console.print(f"{title}: {times[title]:.0f} s")

    def group_of(folder: str) -> list[str]:
        saved = json.loads((out / folder / "sahara.json").read_text())
        return [f"{layer}-{head}" for layer, head in saved["group"]]

    attribution = ["--dataset", "advbench:attribution", "--limit", str(prompts)]
    sahara = [*common, *attribution, "--steps", str(steps)]
    ships = ["ships", *common, *attribution, "--score", "contrastive", "--out", str(out / "ships")]
    stage("per-query Ships, harmful and harmless prompts", lambda: run(ships))

    def candidates(column: str) -> list[str]:
        if pool <= 0:
            return []
        ranked = top_k(read_run(out / "ships", column).values(), pool)
        return ["--heads", ",".join(str(h) for h in ranked)]

    stage("Sahara (paper)", lambda: run(["sahara", *sahara, *candidates("kl_mean"), "--out", str(out / "sahara")]))
    stage("Sahara (contrastive)", lambda: run(["sahara", *sahara, *candidates("mean"), "--objective", "contrastive",
                                               "--out", str(out / "sahara_contrastive")]))  # fmt: skip
    groups = {"sahara": group_of("sahara"), "contrastive": group_of("sahara_contrastive")}
    shape = read_run(out / "ships").shape
    every_head = [Head(layer, h) for layer in range(shape[0]) for h in range(shape[1])]
    found = parse_heads([h for g in groups.values() for h in g])
    for d, group in enumerate(random_groups(every_head, steps, random_draws, seed=0, exclude=found), 1):
        groups[f"random{d}"] = [str(h) for h in group]

    # (run-folder suffix, kind, heads, ablation)
    conditions: list[tuple[str, str, list[str], str]] = [("base", "base", [], "ua-q")]
    conditions += [(g, "sahara", groups[g], "ua-q") for g in ("sahara", "contrastive")]
    conditions += [(f"{g}_sc", "variant", groups[g], "sc") for g in ("sahara", "contrastive")]
    conditions += [(g, "random", heads, "ua-q") for g, heads in groups.items() if g.startswith("random")]
    evaluation = ["--dataset", "advbench:evaluation", "--limit", str(eval_limit),
                  "--max-new-tokens", str(max_new_tokens), "--batch-size", str(min(eval_limit, 32))]  # fmt: skip
    helpful = ["--tasks", "arc_easy,boolq", "--limit", str(help_limit)]

    def ablation(heads: list[str], kind: str) -> list[str]:
        return ["--heads", ",".join(heads), "--ablation", kind] if heads else []

    def evals() -> None:
        for suffix, _, heads, kind in conditions:
            run(["eval", *common, *evaluation, *ablation(heads, kind), "--out", str(out / f"eval_{suffix}")])

    def helpfulness() -> None:  # for every condition but the sc variants
        for suffix, _, heads, kind in (c for c in conditions if c[1] != "variant"):
            extra = [*ablation(heads, kind), "--no-base"] if heads else []
            run(["helpfulness", "--model", name, *helpful, *extra, "--out", str(out / f"helpfulness_{suffix}")])

    with shared_models():  # one model copy for the many eval and helpfulness commands
        stage(f"ASR for {len(conditions)} conditions", evals)
        stage(f"helpfulness for {sum(c[1] != 'variant' for c in conditions)} conditions", helpfulness)
    overlap = None
    if compare_with:
        stage("Ships on the base model", lambda: run(["ships", "--model", compare_with, "--template", "chat",
                                                      *attribution, "--out", str(out / "ships_base")]))  # fmt: skip
        compare = ["compare", str(out / "ships_base"), str(out / "ships"), "--column", "kl_mean",
                   "--out", str(out / "compare")]  # fmt: skip
        stage("head overlap, base vs tuned", lambda: run(compare))
        overlap = json.loads((out / "compare" / "compare.json").read_text())
    stage("report", lambda: run(["report", str(out)]))

    rows = [read_row(c, kind, out / f"eval_{c}", out / f"helpfulness_{c}") for c, kind, _, _ in conditions]
    times["total"] = time.perf_counter() - started
    summary = write_summary(
        out,
        rows,
        {"model": name, "groups": groups, "overlap": overlap, "times_s": times, "base_model": compare_with},
    )
    print_summary(name, rows, summary)
    console.print(f"demo finished in {times['total'] / 60:.1f} min; report: {out / 'report.html'}")


def print_summary(name: str, rows, summary: dict) -> None:
    from safetyheads.study import COLUMNS

    table = results_table(
        f"demo on {name}: AdvBench evaluation prompts and zero-shot helpfulness", COLUMNS, text=3, lists=["heads"]
    )
    for r in rows:
        condition, heads, *rest = r.cells()
        table.add_row(condition, heads.replace(",", ", "), *rest)
    stdout.print(table)
    finding = summary["finding"]
    random_gain = finding["random_mean_complied_gain"]
    stdout.print(f"random groups: mean gain in complied share {random_gain:+.2f}" if random_gain is not None else "")
    for group, v in finding["groups"].items():
        if v["helpfulness_within_5_points"] is None:  # an sc variant: compared on ASR only
            stdout.print(f"{group} ({v['heads']}): complied gain {v['complied_gain']:+.2f}")
            continue
        ratio = f"{v['ratio_to_random']:.1f}x random" if v["ratio_to_random"] is not None else "random gain <= 0"
        drops = ", ".join(f"{t} {(-d or 0.0):+.3f}" for t, d in v["helpfulness_drop"].items())  # no "-0.000"
        met = "finding met" if v["finding_met"] else "finding not met"
        stdout.print(f"{group} ({v['heads']}): complied gain {v['complied_gain']:+.2f} ({ratio}); {drops}: {met}")
    overlap = summary.get("overlap")
    if overlap:
        stdout.print(f"base vs tuned heads: {overlap_line(overlap)}")


def overlap_line(overlap: dict) -> str:
    parts = [f"Jaccard@{o['k']} {o['jaccard']:.2f} (chance {o['jaccard_chance']:.2f})" for o in overlap["overlap"]]
    if overlap.get("spearman") is not None:
        parts.append(f"Spearman {overlap['spearman']:.2f}")
    return ", ".join(parts)
