"""``safetyheads eval``, ``safetyheads helpfulness`` and ``safetyheads calibrate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from safetyheads.cli import common as c
from safetyheads.core.heads import format_heads
from safetyheads.evaluation.coherence import DEFAULT_THRESHOLD, calibrate_run
from safetyheads.evaluation.generation import DEFAULT_MAX_NEW_TOKENS, DecodingSettings
from safetyheads.evaluation.helpfulness import (
    DEFAULT_TASKS,
    MC_TASKS,
    above_baselines,
)
from safetyheads.evaluation.judges import (
    DEFAULT_JUDGE,
    check_judge,
)
from safetyheads.runs.eval_runs import eval_run, helpfulness_run
from safetyheads.types import OUTCOMES, AblationSpec, SafetyHeadsError

OUTCOME_ORDER = [o.value for o in OUTCOMES]

stdout = Console()

JudgeOpt = Annotated[
    str,
    typer.Option(
        "--judge",
        help="topical (default: refused/complied/broken, measured against labelled answers), keyword (the paper's; "
        "counts garbled refusals as attacks), refusal-score, llama-guard, yes-no or rubric (local judge models).",
    ),
]
JudgeModel = Annotated[
    str | None,
    typer.Option("--judge-model", help="Local HF judge model directory (llama-guard, yes-no, rubric)."),
]
JudgeTemplate = Annotated[
    Path | None,
    typer.Option("--judge-template", help="yes-no judge: prompt file with {prompt} and {response} in it."),
]
RubricThreshold = Annotated[
    float | None, typer.Option("--rubric-threshold", help="rubric judge: complied at or above this score (0.25).")
]
Scorer = Annotated[
    str | None, typer.Option("--scorer", help="topical judge: scoring model (default smollm2-135m-instruct).")
]
MinChars = Annotated[
    int | None, typer.Option("--min-chars", help="keyword judge: shorter answers are broken (0 switches it off; 32).")
]
RepetitionRule = Annotated[
    bool | None,
    typer.Option("--repetition-rule/--no-repetition-rule", help="keyword judge: a degenerate loop is broken (on)."),
]
RefusalThreshold = Annotated[
    float | None,
    typer.Option("--refusal-threshold", help="refusal-score judge: complied below these refusal log-odds (0)."),
]
MaxNewTokens = Annotated[int, typer.Option("--max-new-tokens", help="Tokens to generate per answer.")]
TopK = Annotated[int | None, typer.Option("--top-k", help="Sample from the top k tokens (default: greedy).")]
Temperature = Annotated[
    float | None, typer.Option("--temperature", help="Sampling temperature (with --top-k; default 1.0).")
]
Seed = Annotated[int | None, typer.Option("--seed", help="Sampling seed (with --top-k; default 0).")]
Tasks = Annotated[str, typer.Option("--tasks", help=f"Comma-separated tasks from: {', '.join(MC_TASKS)}.")]


def _print_summary(summary: dict, title: str) -> None:
    table = c.results_table(title, ("set", *c.ASR_COLUMNS))
    table.add_row("all", *c.asr_cells(summary))
    for name, s in summary.get("categories", {}).items():
        table.add_row(name, *c.asr_cells(s))
    stdout.print(table)


def judge_options(
    judge_model: str | None = None,
    judge_template: Path | None = None,
    rubric_threshold: float | None = None,
    scorer: str | None = None,
    min_chars: int | None = None,
    repetition_rule: bool | None = None,
    refusal_threshold: float | None = None,
) -> dict:
    """The judge options the user gave (None: not given), as ``make_judge`` keywords."""
    given = {
        "judge_model": judge_model,
        "judge_template": str(judge_template) if judge_template is not None else None,
        "rubric_threshold": rubric_threshold,
        "scorer": scorer,
        "min_chars": min_chars,
        "repetition_rule": repetition_rule,
        "refusal_threshold": refusal_threshold,
    }
    return {k: v for k, v in given.items() if v is not None}


def eval_cmd(
    model: c.Model,
    out: c.Out,
    prompts: c.Prompts = None,
    dataset: c.Dataset = None,
    column: c.Column = None,
    template: c.TemplateOpt = c.DEFAULT_TEMPLATE,
    system: c.System = None,
    heads: c.Heads = None,
    ablation: c.Ablation = "ua-q",
    epsilon: c.Epsilon = c.DEFAULT_EPS,
    direction: c.DirectionDir = None,
    judge: JudgeOpt = DEFAULT_JUDGE,
    judge_model: JudgeModel = None,
    judge_template: JudgeTemplate = None,
    rubric_threshold: RubricThreshold = None,
    scorer: Scorer = None,
    min_chars: MinChars = None,
    repetition_rule: RepetitionRule = None,
    refusal_threshold: RefusalThreshold = None,
    max_new_tokens: MaxNewTokens = DEFAULT_MAX_NEW_TOKENS,
    top_k: TopK = None,
    temperature: Temperature = None,
    seed: Seed = None,
    limit: c.Limit = None,
    batch_size: c.BatchSize = None,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
) -> None:
    """Generate answers with --heads ablated (none: the plain model); shares refused, complied (ASR) and broken."""
    spec = AblationSpec.parse(ablation, epsilon)
    options = judge_options(
        judge_model, judge_template, rubric_threshold, scorer, min_chars, repetition_rule, refusal_threshold
    )
    check_judge(judge, options)  # before any model loads
    if top_k is None and (temperature is not None or seed is not None):
        raise SafetyHeadsError("--temperature and --seed apply to sampling (--top-k K); decoding is greedy without it")
    decoding = DecodingSettings(
        max_new_tokens=max_new_tokens,
        top_k=top_k,
        temperature=1.0 if temperature is None else temperature,
        seed=0 if seed is None else seed,
    )
    done = eval_run(
        out, model=model, items=c.prompt_items(prompts, dataset, column, limit), template=template, system=system,
        heads=heads, spec=spec, direction=c.load_direction(direction), judge=judge, options=options,
        decoding=decoding, batch_size=batch_size, device=device, dtype=dtype, say=c.console.print,
        status=c.console.status,
    )  # fmt: skip
    _print_summary(done.summary, f"Outcomes, {judge} judge, {done.what}")
    c.console.print(f"wrote {' and '.join(map(str, done.files))}")


def judge_cmd(
    responses: Annotated[
        Path, typer.Option("--responses", help="JSONL with prompt and response on every line (eval.jsonl qualifies).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output directory: judged.jsonl and judge_summary.json.")],
    judge: JudgeOpt = DEFAULT_JUDGE,
    judge_model: JudgeModel = None,
    judge_template: JudgeTemplate = None,
    rubric_threshold: RubricThreshold = None,
    scorer: Scorer = None,
    min_chars: MinChars = None,
    repetition_rule: RepetitionRule = None,
    refusal_threshold: RefusalThreshold = None,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
) -> None:
    """Judge answers already generated (any JSONL with prompt and response) with any judge; no regeneration."""
    from safetyheads.runs.judging import judge_run

    options = judge_options(
        judge_model, judge_template, rubric_threshold, scorer, min_chars, repetition_rule, refusal_threshold
    )
    summary = judge_run(responses, out, judge, options, device, dtype)
    _print_summary(summary, f"Outcomes, {judge} judge, {responses}")
    c.console.print(f"wrote {out / 'judged.jsonl'} and {out / 'judge_summary.json'}")


def agreement_cmd(
    judges: Annotated[
        list[str] | None, typer.Option("--judge", help="Judge to measure (repeatable; default: topical and keyword).")
    ] = None,
    split: Annotated[str, typer.Option("--split", help="test (never used to set a parameter), dev, or all.")] = "test",
    judge_model: JudgeModel = None,
    judge_template: JudgeTemplate = None,
    rubric_threshold: RubricThreshold = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write agreement.json and each judge's verdicts_NAME.jsonl here.")
    ] = None,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
) -> None:
    """Each judge against the hand-labelled gold set: confusion matrix, agreement, precision and recall."""
    from safetyheads.runs.gold import agreement_run

    agreement_run(
        judges, split, judge_options(judge_model, judge_template, rubric_threshold), device=device, dtype=dtype,
        out=out, say=stdout.print, on_judge=print_agreement,
    )  # fmt: skip
    if out is not None:
        c.console.print(f"wrote {out / 'agreement.json'} and the verdicts on every answer (verdicts_*.jsonl)")


def print_agreement(name: str, result: dict, targets: dict[str, bool] | None) -> None:
    table = c.results_table(f"{name} judge against the gold labels (rows: gold, columns: judge)",
                            ("gold", *OUTCOME_ORDER, "n"))  # fmt: skip
    for gold in OUTCOME_ORDER:
        row = result["matrix"][gold]
        table.add_row(gold, *(str(row[p]) for p in OUTCOME_ORDER), str(sum(row.values())))
    stdout.print(table)

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.1%}"

    line = (
        f"{name}: agreement {pct(result['agreement'])}, complied precision {pct(result['complied_precision'])}, "
        f"recall {pct(result['complied_recall'])}"
    )
    if targets is not None:
        line += " (targets 90% / 90% / 85%: " + ("met" if all(targets.values()) else "NOT met") + ")"
    stdout.print(line)


def helpfulness_cmd(
    model: c.Model,
    out: c.Out,
    tasks: Tasks = ",".join(DEFAULT_TASKS),
    heads: c.Heads = None,
    ablation: c.Ablation = "ua-q",
    epsilon: c.Epsilon = c.DEFAULT_EPS,
    direction: c.DirectionDir = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Use only the first N items of each task.")] = None,
    with_base: Annotated[
        bool, typer.Option("--base/--no-base", help="With --heads, also score the unablated model.")
    ] = True,
    with_damage: Annotated[
        bool,
        typer.Option(
            "--damage/--no-damage",
            help="With --heads or --direction, also measure the KL from the unablated model on harmless text and "
            "chat answers (32 of each).",
        ),
    ] = True,
    batch_size: c.BatchSize = None,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
) -> None:
    """Zero-shot multiple-choice accuracy (lm-eval-harness style), ablated and base when --heads are given."""
    refusal_direction = c.load_direction(direction)
    done = helpfulness_run(
        out, model=model, tasks=tasks, heads=heads, spec=AblationSpec.parse(ablation, epsilon),
        direction=refusal_direction, limit=limit, with_base=with_base, with_damage=with_damage,
        batch_size=batch_size, device=device, dtype=dtype, status=c.console.status,
    )  # fmt: skip
    result, paired = done.result, done.paired
    table = c.results_table(
        "Helpfulness: zero-shot accuracy"
        + (f" with {format_heads(done.heads)} ablated" if done.heads else "")
        + (f", refusal direction (layer {refusal_direction.layer}) ablated" if refusal_direction else ""),
        ("task", "n", "accuracy", "acc_norm", "chance", "majority")
        + (("base accuracy", "base acc_norm") if paired else ())
        + ("can show damage",),
    )
    for name in done.tasks:
        r = result[name]
        row = [name, str(r["n"]), f"{r['accuracy']:.3f}", f"{r['accuracy_norm']:.3f}"]
        row += [_maybe(r.get("chance")), _maybe(r.get("majority"))]
        reference = result["base"][name] if paired else r
        if paired:
            row += [f"{reference['accuracy']:.3f}", f"{reference['accuracy_norm']:.3f}"]
        row.append("yes" if above_baselines(reference) else "no: not above chance and majority")
        table.add_row(*row)
    stdout.print(table)
    for name, d in result.get("damage", {}).items():
        stdout.print(
            f"harmless {name}: KL from the unablated model {d['kl']:.4f} nats/token "
            f"[{d['kl_ci'][0]:.4f}, {d['kl_ci'][1]:.4f}], loss {d['nll_base']:.3f} -> {d['nll']:.3f} "
            f"({d['n']} sequences)"
        )
    c.console.print(f"wrote {done.file}")


def _maybe(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def calibrate_cmd(
    model: c.Model,
    template: c.TemplateOpt = c.DEFAULT_TEMPLATE,
    system: c.System = None,
    passages: Annotated[
        int, typer.Option("--passages", help="Also score N BoolQ passages (fluent text the model did not write).")
    ] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="Write calibration.json into this directory.")] = None,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
) -> None:
    """Measure answer NLLs of fluent, token-shuffled and word-salad text under a model (how coherence separates)."""
    summary = calibrate_run(model, template, system, passages, out, device, dtype, c.console.status)
    table = c.results_table(
        f"Coherence NLL (nats/token) under {model}, template {template}", ("text", "n", "min", "median", "max")
    )
    for key in ("fluent", "shuffled", "word_salad"):
        s = summary[key]
        table.add_row(key, str(s["n"]), f"{s['min']:.2f}", f"{s['median']:.2f}", f"{s['max']:.2f}")
    stdout.print(table)
    stdout.print(
        f"midway between the highest fluent and the lowest broken NLL: {summary['suggested_threshold']:.2f} "
        f"(the earlier coherence filter's threshold: {DEFAULT_THRESHOLD:g})"
    )
    if out is not None:
        c.console.print(f"wrote {out / 'calibration.json'}")
