"""``safetyheads ships`` and ``safetyheads sahara``."""

from __future__ import annotations

import csv
import json
from typing import Annotated

import typer
from rich.console import Console

from safetyheads.cli import analysis as a
from safetyheads.cli import common as c
from safetyheads.runs.distributed import (
    AddressOpt,
    BackendOpt,
    GpusPerWorkerOpt,
    WorkersOpt,
    chosen_heads,
    open_backend,
    ray_options,
)
from safetyheads.runs.rundir import RunDir, grid_ok, sweep_settings, write_json
from safetyheads.runs.screen_run import check_score, parse_pool, run_screen, screened_pool
from safetyheads.scores.sahara import rank_key
from safetyheads.scores.screen import DEFAULT_TOKENS
from safetyheads.scores.ships import mean_scores
from safetyheads.scores.specificity import refusal_token_ids
from safetyheads.types import (
    AblationSpec,
    BeamGroup,
    BeamStep,
    Head,
    ModelShape,
    SafetyHeadsError,
    SaharaResult,
    SaharaStep,
    ShipsResult,
)

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
SAHARA_DEFAULTS = {"beam": 1}  # settings of sahara runs recorded before the option existed
BEAM_KEYS = ("group", "objective", "parent", "chosen", "scores")  # a beam group's keys in sahara.json; others: grids


def check_method(method: str, screen_tokens: int | None, verify_top: int | None, backend: str) -> str:
    """``ships --method``: ``exact`` or ``screen``; screen options without the screen are refused."""
    if method not in ("exact", "screen"):
        raise SafetyHeadsError(f"--method takes exact or screen, not '{method}'")
    if method == "exact" and (screen_tokens is not None or verify_top is not None):
        raise SafetyHeadsError("--screen-tokens and --verify-top apply to --method screen")
    if method == "screen" and backend != "local":
        raise SafetyHeadsError("--method screen runs on --backend local (one forward and a few backward passes)")
    return method


def screen_cmd(*, model, out, texts, template, system, spec: AblationSpec, heads, batch_size, device, dtype, top,
               score: str, tokens: int, verify_top: int | None) -> None:  # fmt: skip
    """``ships --method screen``: see ``safetyheads.runs.screen_run``."""
    check_score(score)
    run = RunDir(out)
    settings = sweep_settings(
        model, texts, template, system, spec, heads=heads, method="screen", score=score, tokens=tokens,
        verify_top=verify_top, device=device, dtype=dtype,
    )  # fmt: skip
    run.check_settings("screen", settings, ["screen.jsonl", "verified.jsonl"])
    with run.lock("screen"), open_backend("local", model, device, dtype, None, c.console.status) as be:
        run.record_provenance("screen", be.provenance(), batch_size)
        chosen = chosen_heads(heads, be.shape, spec)
        refusal_ids = refusal_token_ids(be.tokenizer) if score == "refusal" else None
        result = run_screen(
            run, be.model, be.encode(texts, template, system), spec, tokens=tokens, verify_top=verify_top,
            heads=chosen, score=score, refusal_ids=refusal_ids, batch_size=batch_size, say=c.console.print,
        )  # fmt: skip
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
    c.console.print(
        f"screen: {result.cost.forward_equivalents:.0f} forward-equivalents in {result.cost.seconds:.1f} s; the exact "
        f"sweep of every head: {result.exact_cost:.0f}"
        + (f"; verifying the top {verify_top}: {result.verify_cost:.0f}" if verify_top else "")
    )
    c.console.print("wrote " + ", ".join(str(f) for f in result.files))


def check_pool(pool: str | None, heads: str | None, screen_tokens: int | None, backend: str) -> int | None:
    """``sahara --pool screen:K``: K, checked against the options it cannot go with."""
    if pool is None:
        if screen_tokens is not None:
            raise SafetyHeadsError("--screen-tokens applies to --pool screen:K")
        return None
    if heads is not None:
        raise SafetyHeadsError("--pool and --heads both choose the candidate heads; give one")
    if backend != "local":
        raise SafetyHeadsError("--pool screen:K runs on --backend local")
    return parse_pool(pool)


def pool_settings(pool: str | None, screen_tokens: int | None) -> dict:
    """Settings a resume must match; none without a pool (so earlier runs' settings still match)."""
    return {} if pool is None else {"pool": pool, "screen_tokens": screen_tokens or DEFAULT_TOKENS}


def search_pool(run, be, texts, template, system, spec, heads, pool, screen_tokens, score) -> list[Head] | None:
    """The heads a Sahara search may choose: ``--heads``, the screened pool, or None (every head)."""
    if pool is None:
        return chosen_heads(heads, be.shape, spec)
    refusal_ids = refusal_token_ids(be.tokenizer) if score == "refusal" else None
    heads_ = screened_pool(
        run, be.model, be.encode(texts, template, system), spec, parse_pool(pool),
        tokens=screen_tokens or DEFAULT_TOKENS, score=score, refusal_ids=refusal_ids, say=c.console.print,
    )  # fmt: skip
    c.console.print(f"searching the screened pool of {len(heads_)} heads: {' '.join(str(h) for h in heads_)}")
    return heads_


def check_beam(beam: int) -> None:
    if beam < 1:
        raise SafetyHeadsError(f"--beam must be at least 1 (1 is the greedy search), got {beam}")


def _saved_sahara(file, width: int) -> dict | None:
    """A saved sahara.json to resume; None (start again) when it is corrupt (set aside) or from another --beam."""
    try:
        saved = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(saved, dict) or not isinstance(saved.get("steps", []), list):
            raise ValueError("no list of steps")
    except (ValueError, UnicodeDecodeError) as err:
        aside = file.with_name(f"{file.name}.corrupt")
        file.replace(aside)
        c.console.print(f"{file} is corrupt ({err}); moved it to {aside.name} and starting the search again")
        return None
    saved_width = saved.get("beam_width", 1)
    if saved_width != width:
        c.console.print(f"{file} holds a search with --beam {saved_width}, not {width}; starting the search again")
        return None
    return saved


def read_sahara(file, steps: int, shape: ModelShape, spec: AblationSpec, pool: set[Head]) -> list[SaharaStep]:
    """The valid leading steps of a saved greedy sahara.json; a corrupt file is set aside and the search redone."""
    saved = _saved_sahara(file, 1)
    raw_steps = saved.get("steps", []) if saved is not None else []
    done: list[SaharaStep] = []
    for s in raw_steps[:steps]:
        try:
            chosen = Head(*(int(x) for x in s["chosen"]))
        except (KeyError, TypeError, ValueError):
            break
        remaining = pool - {d.chosen for d in done}
        if chosen not in remaining or not grid_ok(s.get("scores"), shape, spec, remaining):
            break
        done.append(SaharaStep(chosen, s["scores"]))
    if len(done) < min(len(raw_steps), steps):
        c.console.print(f"{file}: step {len(done) + 1} is corrupt; redoing the search from there")
    return done


def _beam_group(
    raw, previous: BeamStep | None, shape: ModelShape, spec: AblationSpec, pool: set[Head]
) -> BeamGroup | None:
    """One saved group of a beam, checked against the beam before it; None when it does not hold together."""
    try:
        heads = [Head(*(int(x) for x in pair)) for pair in raw["group"]]
        chosen = Head(*(int(x) for x in raw["chosen"]))
        parent, scores = raw["parent"], raw["scores"]
        grids = {k: v for k, v in raw.items() if k not in BEAM_KEYS}
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    size = 1 if previous is None else len(previous.best.heads) + 1
    if len(heads) != size or len(set(heads)) != size or not set(heads) <= pool or heads[-1] != chosen:
        return None
    if previous is None and parent is not None:
        return None
    if previous is not None:
        if not isinstance(parent, int) or isinstance(parent, bool) or not 0 <= parent < len(previous.groups):
            return None
        if previous.groups[parent].heads != heads[:-1]:
            return None
    swept = pool - set(heads[:-1])
    if not all(grid_ok(g, shape, spec, swept) for g in [scores, *grids.values()]):
        return None
    return BeamGroup(heads, float(scores[chosen.layer][chosen.head]), SaharaStep(chosen, scores, grids), parent)


def read_beam(file, steps: int, width: int, shape: ModelShape, spec: AblationSpec, pool: set[Head]) -> list[BeamStep]:
    """The valid leading beams of a saved sahara.json (``--beam`` > 1); a corrupt file is set aside and redone."""
    saved = _saved_sahara(file, width)
    raw_beam = saved.get("beam") if saved is not None else []
    raw_beam = raw_beam if isinstance(raw_beam, list) else []
    history: list[BeamStep] = []
    for raw in raw_beam[:steps]:
        previous = history[-1] if history else None
        raw_groups = raw.get("groups") if isinstance(raw, dict) else None
        if not isinstance(raw_groups, list) or not 1 <= len(raw_groups) <= width:
            break
        groups = [_beam_group(g, previous, shape, spec, pool) for g in raw_groups]
        if any(g is None for g in groups):
            break
        beam = [g for g in groups if g is not None]
        if len({frozenset(g.heads) for g in beam}) != len(beam) or beam != sorted(beam, key=rank_key):
            break
        history.append(BeamStep(beam))
    if len(history) < min(len(raw_beam), steps):
        c.console.print(f"{file}: the beam of step {len(history) + 1} is corrupt; redoing the search from there")
    return history


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
    harmless_given = any(x is not None for x in (harmless_prompts, harmless_dataset, harmless_limit))
    score, lam = a.resolve_ships_score(score, lambda_, harmless_given, backend)
    texts = c.prompt_texts(prompts, dataset, column, limit)
    if check_method(method, screen_tokens, verify_top, backend) == "screen":
        screen_cmd(model=model, out=out, texts=texts, template=template, system=system, spec=spec, heads=heads,
                   batch_size=batch_size, device=device, dtype=dtype, top=top, score=score,
                   tokens=screen_tokens or DEFAULT_TOKENS, verify_top=verify_top)  # fmt: skip
        return
    if score != "kl":  # refusal / contrastive: safetyheads.scores.specificity
        a.ships_scored(model=model, out=out, texts=texts, template=template, system=system, spec=spec, heads=heads,
                       batch_size=batch_size, device=device, dtype=dtype, top=top, score=score, lam=lam,
                       harmless_prompts=harmless_prompts, harmless_dataset=harmless_dataset,
                       harmless_limit=harmless_limit)  # fmt: skip
        return
    run = RunDir(out)
    run.check_settings("ships", sweep_settings(model, texts, template, system, spec, heads=heads), ["ships.jsonl"])
    with run.lock("ships"), open_backend(backend, model, device, dtype, options, c.console.status) as be:
        run.record_provenance("ships", be.provenance(), batch_size)
        chosen = chosen_heads(heads, be.shape, spec)
        swept = set(chosen) if chosen is not None else set(be.shape.all_heads(spec))
        encoded = be.encode(texts, template, system)

        def valid(position: int, r: dict) -> bool:  # a line is the next prompt's complete, well-formed result
            ok_index = r["index"] == position and position < len(texts) and r["prompt"] == texts[position]
            return ok_index and grid_ok(r["scores"], be.shape, spec, swept)

        saved, cut = run.repair_jsonl("ships.jsonl", valid)
        if cut:
            c.console.print(f"cut {cut} bytes of torn or corrupt results off {run.file('ships.jsonl')}; redoing them")
        done = {r["index"] for r in saved}
        if done:
            c.console.print(f"resuming: {len(done)} of {len(texts)} prompts already in {run.file('ships.jsonl')}")

        def save(i: int, result: ShipsResult) -> None:
            run.append_jsonl("ships.jsonl", {"index": i, **result.as_dict()})

        be.ships(encoded, chosen, spec, batch_size, on_result=save, skip=lambda i: i in done, show_progress=True)
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
    check_beam(beam)
    check_pool(pool, heads, screen_tokens, backend)
    spec = AblationSpec.parse(ablation, epsilon)
    options = ray_options(backend, address, workers, gpus_per_worker)
    harmless_given = any(x is not None for x in (harmless_prompts, harmless_dataset, harmless_limit))
    goal = a.resolve_sahara_objective(score, objective, lambda_, harmless_kl_budget, harmless_given, backend)
    texts = c.prompt_texts(prompts, dataset, column, limit)
    if goal is not None:  # --score refusal / --objective contrastive: safetyheads.scores.specificity
        a.sahara_scored(model=model, out=out, texts=texts, steps=steps, rank=rank, beam=beam, template=template,
                        system=system, spec=spec, heads=heads, batch_size=batch_size, device=device, dtype=dtype,
                        score=score.strip().lower(), objective=goal, harmless_prompts=harmless_prompts,
                        harmless_dataset=harmless_dataset, harmless_limit=harmless_limit,
                        base_model=base_model, pool=pool, screen_tokens=screen_tokens)  # fmt: skip
        return
    if base_model is not None:
        raise SafetyHeadsError("--base-model is for --score untune")
    run = RunDir(out)
    settings = sweep_settings(model, texts, template, system, spec, steps=steps, rank=rank, heads=heads, beam=beam)
    settings.update(pool_settings(pool, screen_tokens))
    run.check_settings("sahara", settings, ["sahara.json"], defaults=SAHARA_DEFAULTS)
    with run.lock("sahara"), open_backend(backend, model, device, dtype, options, c.console.status) as be:
        run.record_provenance("sahara", be.provenance(), batch_size)
        shape = be.shape
        candidates = search_pool(run, be, texts, template, system, spec, heads, pool, screen_tokens, "kl")
        encoded = [ids for _t, ids in be.encode(texts, template, system)]
        file = run.file("sahara.json")
        done: list[SaharaStep] = []
        done_beam: list[BeamStep] = []
        if file.exists():
            pool = set(candidates if candidates is not None else shape.all_heads(spec))
            if beam == 1:
                done = read_sahara(file, steps, shape, spec, pool)
            else:
                done_beam = read_beam(file, steps, beam, shape, spec, pool)
            if done or done_beam:
                c.console.print(f"resuming: {len(done) or len(done_beam)} of {steps} Sahara steps already in {file}")

        def save(partial: SaharaResult) -> None:
            write_json(file, {**partial.as_dict(), "complete": len(partial.steps) == steps})

        result = be.sahara(
            encoded,
            steps,
            rank,
            spec,
            candidates,
            batch_size,
            done_steps=done,
            show_progress=True,
            beam=beam,
            done_beam=done_beam,
            on_result=save,
        )
        write_json(file, {**result.as_dict(), "complete": True})
    title = f"Sahara group ({spec.kind.value}, rank {rank}, {len(texts)} prompts)"
    table = c.results_table(title, ("step", "chosen", "generalized Ships (deg)"), text=0)
    for i, step in enumerate(result.steps, 1):
        table.add_row(str(i), str(step.chosen), f"{step.scores[step.chosen.layer][step.chosen.head]:.4g}")
    stdout.print(table)
    print_beam(result)
    c.console.print(f"wrote {file} ({shape.n_layers} layers x {shape.heads_per_layer(spec)} heads scored per step)")
