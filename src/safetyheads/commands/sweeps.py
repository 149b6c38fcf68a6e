"""``safetyheads ships`` and ``safetyheads sahara``."""

from __future__ import annotations

import csv
import hashlib
import json

from rich.console import Console
from rich.table import Table

from safetyheads.commands import common as c
from safetyheads.families import model_shape
from safetyheads.runs import RunDir, write_json
from safetyheads.sahara import sahara
from safetyheads.ships import mean_scores, sweep_ships
from safetyheads.types import AblationSpec, Head, SaharaResult, SaharaStep, ShipsResult

stdout = Console()


def prompts_digest(texts: list[str]) -> str:
    return hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:16]


def _settings(model, texts, template, system, spec: AblationSpec, **extra) -> dict:
    return {
        "model": model,
        "prompts": prompts_digest(texts),
        "n_prompts": len(texts),
        "template": str(template),
        "system": system,
        "ablation": spec.kind.value,
        "epsilon": spec.epsilon,
        **extra,
    }


def write_mean_csv(path, results: list[ShipsResult]) -> list[tuple[Head, float, float]]:
    mean, std = mean_scores(results)
    rows = [
        (Head(layer, h), m, std[layer][h]) for layer, row in enumerate(mean) for h, m in enumerate(row) if m is not None
    ]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["layer", "head", "mean", "std"])
        for head, m, s in rows:
            w.writerow([head.layer, head.head, f"{m:.8g}", f"{s:.8g}"])
    return rows


def print_top(title: str, ranked: list[tuple[Head, float, float]], top: int) -> None:
    table = Table(title=title)
    for col in ("rank", "head", "mean", "std"):
        table.add_column(col, justify="right")
    for i, (head, m, s) in enumerate(sorted(ranked, key=lambda r: -r[1])[:top], 1):
        table.add_row(str(i), str(head), f"{m:.4g}", f"{s:.3g}")
    stdout.print(table)


def ships(
    model: c.Model,
    out: c.Out,
    prompts: c.Prompts = None,
    dataset: c.Dataset = None,
    column: c.Column = None,
    template: c.TemplateOpt = c.DEFAULT_TEMPLATE,
    system: c.System = None,
    ablation: c.Ablation = "ua-q",
    epsilon: c.Epsilon = c.DEFAULT_EPS,
    heads: c.Heads = None,
    limit: c.Limit = None,
    batch_size: c.BatchSize = None,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
    top: int = 10,
) -> None:
    """Score every head (or --heads) with Ships, KL(p_base || p_ablated), for each prompt."""
    spec = AblationSpec.parse(ablation, epsilon)
    texts = c.prompt_texts(prompts, dataset, column, limit)
    run = RunDir(out)
    run.check_settings("ships", _settings(model, texts, template, system, spec, heads=heads))
    lm, tokenizer = c.load(model, device, dtype)
    chosen = c.chosen_heads(heads, lm, spec)
    encoded = c.encoded_prompts(tokenizer, texts, template, system)
    done = {r["index"]: r for r in run.read_jsonl("ships.jsonl") if r.get("prompt") == texts[r["index"]]}
    if done:
        c.console.print(f"resuming: {len(done)} of {len(texts)} prompts already in {run.file('ships.jsonl')}")

    def save(i: int, result: ShipsResult) -> None:
        run.append_jsonl("ships.jsonl", {"index": i, **result.as_dict()})

    sweep_ships(lm, encoded, chosen, spec, batch_size, on_result=save, skip=lambda i: i in done, show_progress=True)
    results = [
        ShipsResult(r["prompt"], r["scores"]) for r in sorted(run.read_jsonl("ships.jsonl"), key=lambda r: r["index"])
    ]
    ranked = write_mean_csv(run.file("ships_mean.csv"), results)
    print_top(f"Top heads by mean Ships over {len(results)} prompts ({spec.kind.value})", ranked, top)
    c.console.print(f"wrote {run.file('ships.jsonl')} and {run.file('ships_mean.csv')}")


def sahara_cmd(
    model: c.Model,
    out: c.Out,
    prompts: c.Prompts = None,
    dataset: c.Dataset = None,
    column: c.Column = None,
    steps: int = 3,
    rank: int = 1,
    template: c.TemplateOpt = c.DEFAULT_TEMPLATE,
    system: c.System = None,
    ablation: c.Ablation = "ua-q",
    epsilon: c.Epsilon = c.DEFAULT_EPS,
    heads: c.Heads = None,
    limit: c.Limit = None,
    batch_size: c.BatchSize = None,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
) -> None:
    """Greedy search for the head group that moves the dataset's final-state subspace most (Sahara)."""
    spec = AblationSpec.parse(ablation, epsilon)
    texts = c.prompt_texts(prompts, dataset, column, limit)
    run = RunDir(out)
    run.check_settings("sahara", _settings(model, texts, template, system, spec, steps=steps, rank=rank, heads=heads))
    lm, tokenizer = c.load(model, device, dtype)
    candidates = c.chosen_heads(heads, lm, spec)
    encoded = [ids for _t, ids in c.encoded_prompts(tokenizer, texts, template, system)]
    file = run.file("sahara.json")
    done: list[SaharaStep] = []
    if file.exists():
        saved = json.loads(file.read_text())
        done = [SaharaStep(Head(*s["chosen"]), s["scores"]) for s in saved.get("steps", [])][:steps]
        if done:
            c.console.print(f"resuming: {len(done)} of {steps} Sahara steps already in {file}")
    partial = SaharaResult(group=[s.chosen for s in done], steps=list(done))

    def save(step: SaharaStep) -> None:
        partial.group.append(step.chosen)
        partial.steps.append(step)
        write_json(file, {**partial.as_dict(), "complete": len(partial.steps) == steps})

    result = sahara(
        lm,
        encoded,
        steps,
        rank,
        spec,
        candidates,
        batch_size,
        done_steps=done,
        on_step=save,
        show_progress=True,
    )
    write_json(file, {**result.as_dict(), "complete": True})
    shape = model_shape(lm)
    table = Table(title=f"Sahara group ({spec.kind.value}, rank {rank}, {len(texts)} prompts)")
    for col in ("step", "chosen", "generalized Ships (deg)"):
        table.add_column(col, justify="right")
    for i, step in enumerate(result.steps, 1):
        table.add_row(str(i), str(step.chosen), f"{step.scores[step.chosen.layer][step.chosen.head]:.4g}")
    stdout.print(table)
    c.console.print(f"wrote {file} ({shape.n_layers} layers x {shape.heads_per_layer(spec)} heads scored per step)")
