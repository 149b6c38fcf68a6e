"""``safetyheads direction``: the refusal direction of a model, its layer chosen on held-apart prompts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from safetyheads.cli import common as c
from safetyheads.cli.evaluate import JudgeModel, JudgeOpt, Scorer, judge_options
from safetyheads.core.direction import META
from safetyheads.data.prompts import read_prompts
from safetyheads.evaluation.judges import DEFAULT_JUDGE
from safetyheads.study.direction_search import (
    DEFAULT_MAX_KL,
    DirectionSettings,
    default_harmless,
    direction_run,
    parse_layers,
)

stdout = Console()

HarmfulFile = Annotated[Path | None, typer.Option("--harmful", help="Harmful prompts file (or --harmful-dataset).")]
HarmfulDataset = Annotated[str, typer.Option("--harmful-dataset", help="Built-in harmful prompt set.")]
HarmlessFile = Annotated[
    Path | None, typer.Option("--harmless", help="Harmless prompts file (default: the built-in harmless requests).")
]
NTrain = Annotated[int, typer.Option("--n-train", help="Prompts of each kind for the difference of means.")]
NVal = Annotated[int, typer.Option("--n-val", help="Held-apart prompts of each kind that choose the layer.")]
Layers = Annotated[
    str | None, typer.Option("--layers", help="Candidate layers, e.g. 0-23 or 4 (default: the first 80%).")
]
MaxKL = Annotated[
    float | None,
    typer.Option("--max-kl", help="Largest mean KL (nats) on held-apart harmless prompts a chosen layer may cause."),
]
EveryLayer = Annotated[
    bool,
    typer.Option(
        "--answer-every-layer/--answer-within-kl",
        help="Generate and judge answers at every candidate layer, or only at layers within --max-kl (the others "
        "cannot be chosen; their KL is still measured).",
    ),
]
MaxNewTokens = Annotated[int, typer.Option("--max-new-tokens", help="Tokens per answer while choosing the layer.")]


def direction_cmd(
    model: c.Model,
    out: c.Out,
    harmful: HarmfulFile = None,
    harmful_dataset: HarmfulDataset = "advbench:attribution",
    harmless: HarmlessFile = None,
    n_train: NTrain = 64,
    n_val: NVal = 16,
    layers: Layers = None,
    max_kl: MaxKL = DEFAULT_MAX_KL,
    max_new_tokens: MaxNewTokens = 32,
    answer_every_layer: EveryLayer = True,
    template: c.TemplateOpt = c.Template.CHAT,
    judge: JudgeOpt = DEFAULT_JUDGE,
    judge_model: JudgeModel = None,
    scorer: Scorer = None,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
) -> None:
    """The refusal direction (difference of means after every layer), its layer chosen on held-apart prompts.

    The chosen layer makes the most held-apart harmful prompts answered (complied), within --max-kl on harmless
    ones. Writes OUT/direction.safetensors and OUT/direction.json (every layer's measurements)."""
    options = judge_options(judge_model=judge_model, scorer=scorer)
    harmful_texts = read_prompts(harmful) if harmful is not None else c.prompt_texts(None, harmful_dataset, None, None)
    harmless_texts = read_prompts(harmless) if harmless is not None else default_harmless()
    settings = DirectionSettings(
        n_train, n_val, max_kl, max_new_tokens, parse_layers(layers) if layers else None, template.value,
        answer_every_layer,
    )  # fmt: skip
    source = {
        "harmful": str(harmful) if harmful else harmful_dataset,
        "harmless": str(harmless) if harmless else "builtin",
    }
    found = direction_run(
        out, model=model, harmful_texts=harmful_texts, harmless_texts=harmless_texts, source=source,
        settings=settings, judge=judge, options=options, device=device, dtype=dtype, status=c.console.status,
    )  # fmt: skip
    print_layers(found.info["layers"], found.layer, max_kl)
    c.console.print(f"chosen: the direction after layer {found.layer}; wrote {out / META}")


def print_layers(rows: list[dict], chosen: int, max_kl: float | None) -> None:
    table = c.results_table(
        "Direction ablation by layer (held-apart prompts)",
        ("layer", "refused", "complied", "broken", "harmless KL", ""),
    )
    for r in rows:
        too_far = max_kl is not None and r["harmless_kl"] > max_kl
        mark = "chosen" if r["layer"] == chosen else ("KL too high" if too_far else "")
        shares = ["-" if r[k] is None else f"{r[k]:.2f}" for k in ("refused", "complied", "broken")]
        table.add_row(str(r["layer"]), *shares, f"{r['harmless_kl']:.3f}", mark)
    stdout.print(table)
