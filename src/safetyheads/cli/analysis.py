"""``safetyheads compare``, ``swap`` and ``qkv-check``, and the options of the ``--score`` / ``--objective``
variants of ``ships`` and ``sahara`` (``safetyheads.runs.sweep_runs`` runs those)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from safetyheads.cli import common as c
from safetyheads.evaluation.generation import DecodingSettings
from safetyheads.evaluation.outcomes import measure_outcomes
from safetyheads.runs.rundir import RunDir, prompts_digest, write_json
from safetyheads.scores.specificity import (
    HARMLESS_QUESTIONS,
)
from safetyheads.types import AblationKind, AblationSpec, Head, ModelShape, SafetyHeadsError

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
            str(o["k"]),
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


# ---------------------------------------------------------------------------------------------- ASR helper


def _judge(name: str, judge_model: str | None, device: str, dtype: str):
    from safetyheads.cli.evaluate import judge_options
    from safetyheads.evaluation.judges import build_judge

    options = judge_options(judge_model)
    return build_judge(name, options, answers_only=True, device=device, dtype=dtype), {"judge": name, **options}


def _write_jsonl(path: Path, records: list[dict]) -> None:
    from safetyheads.runs.rundir import atomic_write_text

    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in records))


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
    max_new_tokens: MaxNewTokens = 64,
    judge: JudgeName = "topical",
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
    from safetyheads.core.swap import COMPONENTS, check_swappable, save_swapped, swap_component

    component = component.strip().lower()
    if component not in COMPONENTS:
        raise SafetyHeadsError(f"unknown component '{component}'; choose one of: {', '.join(COMPONENTS)}")
    if max_new_tokens < 1:
        raise SafetyHeadsError("--max-new-tokens must be at least 1")
    items = c.prompt_items(prompts, dataset, column, limit) if evaluate else []
    if out.exists() and not out.is_dir():
        raise SafetyHeadsError(f"--out {out} is a file; give a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise SafetyHeadsError(f"--out {out} is not empty; choose a new directory or pass --overwrite")
    judge_obj, judged_by = _judge(judge, judge_model, device, dtype) if evaluate else (None, {})
    aligned, tokenizer = c.load(into, device, dtype)
    base, base_tokenizer = c.load(source, device, dtype)
    check_swappable(base, aligned, component)
    summaries: dict[str, dict] = {}
    decoding = DecodingSettings(max_new_tokens)
    if evaluate and eval_base:
        c.console.print("BASE:")
        summaries["base"], records = measure_outcomes(
            base,
            base_tokenizer,
            items,
            template,
            system,
            judge_obj,
            decoding=decoding,
            batch_size=batch_size,
        )
        out.mkdir(parents=True, exist_ok=True)
        _write_jsonl(out / "eval_base.jsonl", records)
    if evaluate:
        c.console.print("ALIGNED:")
        summaries["aligned"], records = measure_outcomes(
            aligned,
            tokenizer,
            items,
            template,
            system,
            judge_obj,
            decoding=decoding,
            batch_size=batch_size,
        )
        out.mkdir(parents=True, exist_ok=True)
        _write_jsonl(out / "eval_aligned.jsonl", records)
    names = swap_component(base, aligned, component)
    del base
    record = {"from": source, "into": into, "component": component, "parameters": len(names)}
    model_dir = out / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    save_swapped(aligned, tokenizer, model_dir, record)
    if evaluate:
        c.console.print("SWAPPED:")
        summaries["swapped"], records = measure_outcomes(
            aligned,
            tokenizer,
            items,
            template,
            system,
            judge_obj,
            decoding=decoding,
            batch_size=batch_size,
        )
        _write_jsonl(out / "eval_swapped.jsonl", records)

    result = {
        **record,
        "model_dir": str(model_dir),
        "swapped_parameters": names,
        "settings": {
            "prompts": prompts_digest([i.text for i in items]),
            "n_prompts": len(items),
            "dataset": dataset,
            "template": str(template),
            "system": system,
            "max_new_tokens": max_new_tokens,
            **judged_by,
        },
        "asr": summaries,
    }
    write_json(out / "swap.json", result)
    if summaries:
        table = c.results_table(
            f"Outcomes, {judge} judge: SWAPPED = ALIGNED with BASE's {component}",
            ("model", *c.ASR_COLUMNS),
            caption=f"BASE: {source}; ALIGNED: {into}",
        )
        for key in ("base", "aligned", "swapped"):
            if key in summaries:
                table.add_row(key.upper(), *c.asr_cells(summaries[key]))
        stdout.print(table)
    c.console.print(f"swapped {len(names)} {component} tensors; wrote {model_dir} and {out / 'swap.json'}")


# ---------------------------------------------------------------------------------------------- qkv-check

QKV_KINDS = ("ua-q", "ua-k", "sc", "mean")
DIRECTION_ROW = "direction"  # qkv-check --direction: the refusal direction ablated, beside the head ablations


def key_heads_for(heads: Sequence[Head], shape: ModelShape) -> list[Head]:
    """The key/value heads serving ``heads`` (query heads): ``ua-k`` on a query head ablates its key head."""
    return sorted({Head(h.layer, h.head // shape.group_size) for h in heads})


def units_for(kind: AblationKind, heads: Sequence[Head], shape: ModelShape) -> tuple[list[Head], list[Head], str]:
    """(units to ablate, query heads actually affected, note) for ``kind`` on the query heads ``heads``."""
    if kind is not AblationKind.UA_K:
        return list(heads), list(heads), ""
    keys = key_heads_for(heads, shape)
    affected = sorted(Head(k.layer, q) for k in keys for q in shape.query_heads_of_key_head(k.head))
    if not shape.uses_gqa:
        return keys, affected, ""
    extra = sorted(set(affected) - set(heads))
    note = (
        f"grouped-query attention ({shape.group_size} query heads per key head): ua-k ablates key heads "
        f"{','.join(map(str, keys))}, i.e. query heads {','.join(map(str, affected))}"
    )
    if extra:
        note += f" ({len(extra)} more than asked: {','.join(map(str, extra))})"
    return keys, affected, note


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
    max_new_tokens: MaxNewTokens = 64,
    tasks: Annotated[str, typer.Option("--tasks", help="Helpfulness tasks (comma-separated MC tasks).")] = (
        "arc_easy,boolq,openbookqa"
    ),
    task_limit: Annotated[int, typer.Option("--task-limit", help="Items per helpfulness task.")] = 100,
    kinds: Annotated[str, typer.Option("--kinds", help="Ablations to compare.")] = ",".join(QKV_KINDS),
    epsilon: c.Epsilon = c.DEFAULT_EPS,
    judge: JudgeName = "topical",
    judge_model: JudgeModelDir = None,
    direction: c.DirectionDir = None,
    batch_size: c.BatchSize = None,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
) -> None:
    """ASR and helpfulness of one head group under ua-q, ua-k, sc and mean (and unablated; with --direction, the
    refusal direction), in one table."""
    from safetyheads.cli.evaluate import judge_options
    from safetyheads.core.direction import maybe_without
    from safetyheads.core.families import model_shape
    from safetyheads.core.heads import parse_heads, validate_heads
    from safetyheads.data.datasets import load_mc_task
    from safetyheads.evaluation.helpfulness import evaluate_mc
    from safetyheads.evaluation.judges import judge_record
    from safetyheads.runs.eval_runs import task_list

    specs = []
    for k in [k.strip() for k in kinds.split(",") if k.strip()]:
        specs.append(AblationSpec.parse(k, epsilon))
    if not specs:
        raise SafetyHeadsError(f"--kinds is empty; choose from {', '.join(QKV_KINDS)}")
    asked = parse_heads(heads)
    if not asked:
        raise SafetyHeadsError("--heads is empty; name at least one head, e.g. --heads 2-26")
    if max_new_tokens < 1:
        raise SafetyHeadsError("--max-new-tokens must be at least 1")
    if task_limit < 1:
        raise SafetyHeadsError("--task-limit must be at least 1")
    names = task_list(tasks)
    items = c.prompt_items(prompts, dataset, column, limit)
    mc = {name: load_mc_task(name, task_limit) for name in names}
    refusal_direction = c.load_direction(direction)
    run = RunDir(out)
    run.check_settings(
        "qkv-check",
        {
            "model": model,
            "heads": [str(h) for h in asked],
            "prompts": prompts_digest([i.text for i in items]),
            "n_prompts": len(items),
            "template": str(template),
            "system": system,
            "max_new_tokens": max_new_tokens,
            "tasks": names,
            "task_limit": task_limit,
            "epsilon": epsilon,
            **judge_record(judge, judge_options(judge_model)),
            **({"direction": refusal_direction.describe()} if refusal_direction else {}),
        },
    )
    judge_obj, _ = _judge(judge, judge_model, device, dtype)
    lm, tokenizer = c.load(model, device, dtype)
    shape = model_shape(lm)
    validate_heads(asked, shape)
    file = run.file("qkv_check.json")
    saved = json.loads(file.read_text()) if file.exists() else {}
    rows: dict[str, dict] = {k: v for k, v in (saved.get("rows") or {}).items() if isinstance(v, dict)}
    size = batch_size or 8
    notes: list[str] = []
    plan: list[tuple[str, AblationSpec | None]] = [("none", None)] + [(s.kind.value, s) for s in specs]
    if refusal_direction is not None:
        plan.append((DIRECTION_ROW, None))
    for name, spec in plan:
        units: list[Head] = []
        affected: list[Head] = []
        if spec is not None:
            units, affected, note = units_for(spec.kind, asked, shape)
            if note:
                notes.append(note)
        if name in rows:
            continue
        control = refusal_direction if name == DIRECTION_ROW else None
        what = "unablated" if spec is None else "ablating " + ",".join(map(str, units))
        c.console.print(f"{name}: {'the refusal direction ablated' if control is not None else what}")
        with maybe_without(lm, control):
            summary, records = measure_outcomes(
                lm, tokenizer, items, template, system, judge_obj, units, spec, DecodingSettings(max_new_tokens), size
            )
            help_scores = {t: evaluate_mc(lm, tokenizer, mc[t], units or None, spec, size).as_dict() for t in names}
        _write_jsonl(run.file(f"eval_{name}.jsonl"), records)
        accs = [v["accuracy"] for v in help_scores.values()]
        rows[name] = {
            "ablation": spec.as_dict() if spec is not None else None,
            **({"direction": control.describe()} if control is not None else {}),
            "units": [str(h) for h in units],
            "query_heads_affected": [str(h) for h in affected],
            "asr": summary,
            "helpfulness": help_scores,
            "mean_accuracy": sum(accs) / len(accs) if accs else None,
        }
        write_json(file, {"model": model, "heads": [str(h) for h in asked], "notes": notes, "rows": rows})
    ordered = {name: rows[name] for name, _ in plan}
    write_json(file, {"model": model, "heads": [str(h) for h in asked], "notes": notes, "rows": ordered})
    columns = ("ablation", *c.ASR_COLUMNS, *names, "mean acc", "units")
    table = c.results_table(f"{model}: heads {','.join(map(str, asked))} under each ablation", columns, lists=["units"])
    for name, row in ordered.items():
        accs = [f"{row['helpfulness'][t]['accuracy']:.3f}" for t in names]
        table.add_row(name, *c.asr_cells(row["asr"]), *accs, _fmt(row["mean_accuracy"]), c.list_cell(row["units"]))
    stdout.print(table)
    for note in dict.fromkeys(notes):
        c.console.print(f"note: {note}")
    c.console.print(f"wrote {file}")
