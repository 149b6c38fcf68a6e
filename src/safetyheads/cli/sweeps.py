"""``safetyheads ships`` and ``safetyheads sahara``: options in, one call to ``safetyheads.runs.sweep_runs``, tables
out."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from safetyheads.cli import analysis as a
from safetyheads.cli import common as c
from safetyheads.cli.common import AddressOpt, BackendOpt, GpusPerWorkerOpt, WorkersOpt
from safetyheads.runs.backends import ray_options
from safetyheads.runs.screen_run import ScreenRun
from safetyheads.runs.sweep_runs import (
    ShipsRun,
    check_method,
    resolve_ships_score,
    sahara_run,
    screen_ships_run,
    ships_run,
)
from safetyheads.scores.compare import jaccard, top_k
from safetyheads.scores.screen import DEFAULT_TOKENS
from safetyheads.types import AblationSpec, Head, SaharaResult

stdout = Console()

BeamOpt = Annotated[
    int,
    typer.Option(
        "--beam",
        help="Beam search: keep the K best head groups at each step, each extended by every remaining head "
        "(1: the paper's greedy search). Costs about K times as much per step.",
    ),
]
MethodOpt = Annotated[
    str,
    typer.Option(
        "--method",
        help="exact (one ablated forward per head and prompt) or screen (every head from one forward and "
        "--screen-tokens backward passes per prompt, AtP*-style; see docs/screen.md).",
    ),
]
ScreenTokensOpt = Annotated[
    int | None,
    typer.Option(
        "--screen-tokens",
        min=1,
        help="Screen: the most probable next tokens its second-order Ships estimate sums over (default 8).",
    ),
]
VerifyTopOpt = Annotated[
    int | None,
    typer.Option("--verify-top", help="Screen: sweep the K best screened heads exactly and write their exact scores."),
]
PoolOpt = Annotated[
    str | None,
    typer.Option(
        "--pool",
        help="screen:K searches only the K best heads of the Ships screen on the same prompts (saved in pool.json).",
    ),
]


def print_beam(result: SaharaResult) -> None:
    """The beam after each step, best group first, when the search kept more than one group."""
    if result.beam_width <= 1:
        return
    table = c.results_table(
        f"Sahara beam (--beam {result.beam_width})", ("step", "best group", "objective", "beam"), text=0,
        lists=("best group", "beam"),
    )  # fmt: skip
    for i, beam in enumerate(result.beam, 1):
        others = "; ".join(f"{c.list_cell(g.heads)}: {g.objective:.4g}" for g in beam.groups[1:])
        table.add_row(str(i), c.list_cell(beam.best.heads), f"{beam.best.objective:.4g}", others or "-")
    stdout.print(table)


def print_top(title: str, ranked: list[tuple[Head, float, float]], top: int) -> None:
    table = c.results_table(title, ("rank", "head", "mean", "std"), text=0)
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
    score: a.ScoreOpt = "kl",
    lambda_: a.LambdaOpt = None,
    harmless_prompts: a.HarmlessPromptsOpt = None,
    harmless_dataset: a.HarmlessDatasetOpt = None,
    harmless_limit: a.HarmlessLimitOpt = None,
    backend: BackendOpt = "local",
    address: AddressOpt = None,
    workers: WorkersOpt = None,
    gpus_per_worker: GpusPerWorkerOpt = None,
    method: MethodOpt = "exact",
    screen_tokens: ScreenTokensOpt = None,
    verify_top: VerifyTopOpt = None,
) -> None:
    """Score every head (or --heads) with Ships, KL(p_base || p_ablated), for each prompt (or --score)."""
    spec = AblationSpec.parse(ablation, epsilon)
    options = ray_options(backend, address, workers, gpus_per_worker)
    texts = c.prompt_texts(prompts, dataset, column, limit)
    common = dict(
        model=model,
        texts=texts,
        template=template,
        system=system,
        spec=spec,
        heads=heads,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        say=c.console.print,
        status=c.console.status,
    )
    if check_method(method, screen_tokens, verify_top, backend) == "screen":
        harmless_given = any(x is not None for x in (harmless_prompts, harmless_dataset, harmless_limit))
        resolve_ships_score(score, lambda_, harmless_given, backend)
        print_screen(screen_ships_run(out, **common, score=score.strip().lower(), tokens=screen_tokens or
                     DEFAULT_TOKENS, verify_top=verify_top), spec, top, score.strip().lower())  # fmt: skip
        return
    result = ships_run(
        out, **common, score=score, lam=lambda_, harmless_prompts=harmless_prompts, harmless_dataset=harmless_dataset,
        harmless_limit=harmless_limit, backend=backend, ray=options,
    )  # fmt: skip
    print_ships(result, spec, top)


def print_ships(result: ShipsRun, spec: AblationSpec, top: int) -> None:
    n, score = len(result.results), result.score
    if score == "kl":
        print_top(f"Top heads by mean Ships over {n} prompts ({spec.kind.value})", result.ranked, top)
    else:
        label = "refusal log-odds change" if score == "refusal" else f"harmful KL - {result.lam:g} x harmless KL"
        cols = ["rank", "head", score, "harmful KL"] + (["harmless KL"] if score == "contrastive" else []) + ["refusal"]
        table = c.results_table(f"Top heads by {score} ({label}) over {n} prompts ({spec.kind.value})", cols, text=0)
        for i, r in enumerate(result.rows[:top], 1):
            cells = [str(i), f"{r['layer']}-{r['head']}", f"{r['mean']:.4g}", f"{r['kl_mean']:.4g}"]
            if score == "contrastive":
                cells.append(f"{r['harmless_kl_mean']:.4g}")
            cells.append(f"{r['refusal_mean']:.4g}")
            table.add_row(*cells)
        stdout.print(table)
        by_score = {Head(r["layer"], r["head"]): r["mean"] for r in result.rows}
        by_kl = {Head(r["layer"], r["head"]): r["kl_mean"] for r in result.rows}
        k = min(top, len(result.rows))
        first, second = top_k(by_kl, k), top_k(by_score, k)
        stdout.print(
            f"top {k} by harmful KL alone vs by {score}: {len(set(first) & set(second))} shared (Jaccard "
            f"{jaccard(first, second):.2f}); by KL: {', '.join(map(str, first))}"
        )
    c.console.print(f"wrote {' and '.join(map(str, result.files))}")


def print_screen(result: ScreenRun, spec: AblationSpec, top: int, score: str) -> None:
    what = "Ships" if score == "kl" else "refusal change"
    print_top(f"Top heads by screened {what} over {result.n_prompts} prompts ({spec.kind.value})", result.screened, top)
    if result.verified:
        screen_rank = {h: i for i, (h, _m, _s) in enumerate(result.screened, 1)}
        table = c.results_table(
            f"Exact {what} of the {len(result.verified)} best screened heads", ("exact rank", "head", "exact mean",
            "screen rank"), text=0)  # fmt: skip
        for i, (h, m, _s) in enumerate(result.verified[:top], 1):
            table.add_row(str(i), str(h), f"{m:.4g}", str(screen_rank[h]))
        stdout.print(table)
    verified = len(result.verified) if result.verified else 0
    c.console.print(
        f"screen: {result.cost.forward_equivalents:.0f} forward-equivalents in {result.cost.seconds:.1f} s; the exact "
        f"sweep of every head: {result.exact_cost:.0f}"
        + (f"; verifying the top {verified}: {result.verify_cost:.0f}" if verified else "")
    )
    c.console.print("wrote " + ", ".join(str(f) for f in result.files))


def sahara_cmd(
    model: c.Model,
    out: c.Out,
    prompts: c.Prompts = None,
    dataset: c.Dataset = None,
    column: c.Column = None,
    steps: int = 3,
    rank: int = 1,
    beam: BeamOpt = 1,
    template: c.TemplateOpt = c.DEFAULT_TEMPLATE,
    system: c.System = None,
    ablation: c.Ablation = "ua-q",
    epsilon: c.Epsilon = c.DEFAULT_EPS,
    heads: c.Heads = None,
    limit: c.Limit = None,
    batch_size: c.BatchSize = None,
    device: c.Device = "cpu",
    dtype: c.Dtype = "float32",
    score: a.ScoreOpt = "kl",
    objective: a.ObjectiveOpt = None,
    lambda_: a.LambdaOpt = None,
    harmless_kl_budget: a.BudgetOpt = None,
    harmless_prompts: a.HarmlessPromptsOpt = None,
    harmless_dataset: a.HarmlessDatasetOpt = None,
    harmless_limit: a.HarmlessLimitOpt = None,
    base_model: Annotated[
        str | None, typer.Option("--base-model", help="--score untune: the untuned model the tuned one started from.")
    ] = None,
    backend: BackendOpt = "local",
    address: AddressOpt = None,
    workers: WorkersOpt = None,
    gpus_per_worker: GpusPerWorkerOpt = None,
    pool: PoolOpt = None,
    screen_tokens: ScreenTokensOpt = None,
) -> None:
    """Greedy search for the head group that moves the dataset's final-state subspace most (Sahara); or --beam K."""
    spec = AblationSpec.parse(ablation, epsilon)
    options = ray_options(backend, address, workers, gpus_per_worker)
    texts = c.prompt_texts(prompts, dataset, column, limit)
    done = sahara_run(
        out, model=model, texts=texts, steps=steps, rank=rank, beam=beam, template=template, system=system, spec=spec,
        heads=heads, batch_size=batch_size, device=device, dtype=dtype, score=score, objective=objective, lam=lambda_,
        harmless_kl_budget=harmless_kl_budget, harmless_prompts=harmless_prompts, harmless_dataset=harmless_dataset,
        harmless_limit=harmless_limit, base_model=base_model, pool=pool, screen_tokens=screen_tokens,
        backend=backend, ray=options, say=c.console.print, status=c.console.status,
    )  # fmt: skip
    result = done.result
    if done.formula is None:
        title = f"Sahara group ({spec.kind.value}, rank {rank}, {done.n_prompts} prompts)"
        table = c.results_table(title, ("step", "chosen", "generalized Ships (deg)"), text=0)
        for i, step in enumerate(result.steps, 1):
            table.add_row(str(i), str(step.chosen), f"{step.scores[step.chosen.layer][step.chosen.head]:.4g}")
        stdout.print(table)
        print_beam(result)
        per_step = f"{done.shape.n_head_layers} layers x {done.shape.heads_per_layer(spec)} heads scored per step"
        c.console.print(f"wrote {done.file} ({per_step})")
        return
    title = f"Sahara group: {done.formula} ({spec.kind.value}, rank {rank}, {done.n_prompts} prompts)"
    keys = done.components
    table = c.results_table(title, ["step", "chosen", "objective", *(k.replace("_", " ") for k in keys)], text=0)
    for i, step in enumerate(result.steps, 1):
        at = (step.chosen.layer, step.chosen.head)
        cells = [str(i), str(step.chosen), f"{step.scores[at[0]][at[1]]:.4g}"]
        for k in keys:
            grid = step.extra.get(k)
            cells.append(f"{grid[at[0]][at[1]]:.4g}" if grid else "-")
        table.add_row(*cells)
    stdout.print(table)
    print_beam(result)
    if done.stopped:
        c.console.print(f"stopped early: {done.stopped}")
    c.console.print(f"wrote {done.file}")
