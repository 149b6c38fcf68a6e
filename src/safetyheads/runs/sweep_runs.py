"""``ships`` and ``sahara`` as resumable runs in a run directory: what the commands do, callable from a notebook.

* ``ships_run``: per-prompt Ships of every head (or ``heads``) into ``ships.jsonl`` and ``ships_mean.csv``;
  with ``score`` ``refusal`` or ``contrastive``, the components too (``ships_harmless.jsonl`` for the latter).
* ``sahara_run``: the Sahara search (greedy or beam) into ``sahara.json``, after each step; with an
  ``Objective`` (``specificity``), the refusal, contrastive or untune search.

Each checks the run's settings, records the model's provenance, holds the run's lock, resumes what is saved and
returns what it computed; the commands print it. ``say`` receives progress messages (the CLI prints them).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from safetyheads.data.loading import load_model
from safetyheads.data.prompts import prepare
from safetyheads.evaluation.judges import next_token_logprobs
from safetyheads.runs.backends import open_backend
from safetyheads.runs.planning import chosen_heads, named_heads
from safetyheads.runs.ray_pool import RayOptions
from safetyheads.runs.rundir import RunDir, grid_ok, prompts_digest, sweep_settings, write_json
from safetyheads.runs.screen_run import ScreenRun, check_score, parse_pool, run_screen, screened_pool
from safetyheads.scores.sahara import rank_key
from safetyheads.scores.screen import DEFAULT_TOKENS
from safetyheads.scores.ships import Ranked, mean_scores, ranked_heads, scores_grid
from safetyheads.scores.specificity import (
    DEFAULT_LAMBDA,
    HARMLESS_QUESTIONS,
    OBJECTIVES,
    SCORES,
    Objective,
    PromptComponents,
    contrastive_grid,
    harmless_texts,
    refusal_token_ids,
    sahara_contrastive,
    sweep_components,
)
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

Say = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


SAHARA_DEFAULTS = {"beam": 1}  # settings of sahara runs recorded before the option existed
BEAM_KEYS = ("group", "objective", "parent", "chosen", "scores")  # a beam group's keys in sahara.json; others: grids


# ---------------------------------------------------------------------------------------------- option checks


def _check_score(score: str, allowed: tuple[str, ...] = SCORES) -> str:
    score = score.strip().lower()
    if score not in allowed:
        raise SafetyHeadsError(f"unknown score '{score}'; choose one of: {', '.join(allowed)}")
    return score


def resolve_ships_score(score: str, lam: float | None, harmless_given: bool, backend: str) -> tuple[str, float]:
    """Check the ``ships`` scoring options; returns (score, lambda)."""
    score = _check_score(score)
    if score != "contrastive":
        if lam is not None:
            raise SafetyHeadsError("--lambda only applies to --score contrastive")
        if harmless_given:
            raise SafetyHeadsError(
                "--harmless-prompts/--harmless-dataset/--harmless-limit only apply to --score contrastive"
            )
    if score != "kl" and backend != "local":
        raise SafetyHeadsError(f"--score {score} runs on --backend local only")
    return score, DEFAULT_LAMBDA if lam is None else float(lam)


def resolve_sahara_objective(
    score: str,
    objective: str | None,
    lam: float | None,
    budget: float | None,
    harmless_given: bool,
    backend: str,
) -> Objective | None:
    """Check the ``sahara`` scoring options; None for the paper's search (generalized Ships, plain)."""
    score = _check_score(score, (*SCORES, "untune"))
    if objective is not None and objective not in OBJECTIVES:
        raise SafetyHeadsError(f"unknown objective '{objective}'; choose one of: {', '.join(OBJECTIVES)}")
    if score == "contrastive" and objective == "plain":
        raise SafetyHeadsError("--score contrastive is the contrastive objective; drop --objective plain")
    contrastive = objective == "contrastive" or score == "contrastive"
    if not contrastive:
        given = [n for n, v in (("--lambda", lam), ("--harmless-kl-budget", budget)) if v is not None]
        if harmless_given:
            given.append("--harmless-prompts/--harmless-dataset/--harmless-limit")
        if given:
            raise SafetyHeadsError(f"{', '.join(given)} need --objective contrastive")
        if score == "kl":
            return None
    if backend != "local":
        raise SafetyHeadsError("--score/--objective other than the paper's run on --backend local only")
    resolved = (0.0 if budget is not None else DEFAULT_LAMBDA) if lam is None else float(lam)
    return Objective(
        reward=score if score in ("refusal", "untune") else "kl",
        contrastive=contrastive,
        lam=resolved if contrastive else 0.0,
        budget=budget,
    )


def check_method(method: str, screen_tokens: int | None, verify_top: int | None, backend: str) -> str:
    """``ships --method``: ``exact`` or ``screen``; screen options without the screen are refused."""
    if method not in ("exact", "screen"):
        raise SafetyHeadsError(f"--method takes exact or screen, not '{method}'")
    if method == "exact" and (screen_tokens is not None or verify_top is not None):
        raise SafetyHeadsError("--screen-tokens and --verify-top apply to --method screen")
    if method == "screen" and backend != "local":
        raise SafetyHeadsError("--method screen runs on --backend local (one forward and a few backward passes)")
    return method


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
    if screen_tokens is not None and screen_tokens < 1:  # 0 would quietly mean the default
        raise SafetyHeadsError(f"--screen-tokens must be at least 1, not {screen_tokens}")
    return parse_pool(pool)


def pool_settings(pool: str | None, screen_tokens: int | None) -> dict:
    """Settings a resume must match; none without a pool (so earlier runs' settings still match)."""
    return {} if pool is None else {"pool": pool, "screen_tokens": screen_tokens or DEFAULT_TOKENS}


def check_beam(beam: int) -> None:
    if beam < 1:
        raise SafetyHeadsError(f"--beam must be at least 1 (1 is the greedy search), got {beam}")


# ---------------------------------------------------------------------------------------------- sahara.json


def _saved_sahara(file, width: int, say: Say = _quiet) -> dict | None:
    """A saved sahara.json to resume; None (start again) when it is corrupt (set aside) or from another --beam."""
    try:
        saved = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(saved, dict) or not isinstance(saved.get("steps", []), list):
            raise ValueError("no list of steps")
    except (ValueError, UnicodeDecodeError) as err:
        aside = file.with_name(f"{file.name}.corrupt")
        file.replace(aside)
        say(f"{file} is corrupt ({err}); moved it to {aside.name} and starting the search again")
        return None
    saved_width = saved.get("beam_width", 1)
    if saved_width != width:
        say(f"{file} holds a search with --beam {saved_width}, not {width}; starting the search again")
        return None
    return saved


def read_sahara(
    file, steps: int, shape: ModelShape, spec: AblationSpec, pool: set[Head], say: Say = _quiet
) -> list[SaharaStep]:
    """The valid leading steps of a saved greedy sahara.json; a corrupt file is set aside and the search redone."""
    saved = _saved_sahara(file, 1, say)
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
        say(f"{file}: step {len(done) + 1} is corrupt; redoing the search from there")
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


def read_beam(
    file, steps: int, width: int, shape: ModelShape, spec: AblationSpec, pool: set[Head], say: Say = _quiet
) -> list[BeamStep]:
    """The valid leading beams of a saved sahara.json (``--beam`` > 1); a corrupt file is set aside and redone."""
    saved = _saved_sahara(file, width, say)
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
        say(f"{file}: the beam of step {len(history) + 1} is corrupt; redoing the search from there")
    return history


# ---------------------------------------------------------------------------------------------- results files


def write_mean_csv(path, results: list[ShipsResult]) -> Ranked:
    """``ships_mean.csv`` (heads in layer order); returns the heads ranked, best first (``ships.ranked_heads``)."""
    ranked = ranked_heads(results)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["layer", "head", "mean", "std"])
        for head, m, s in sorted(ranked, key=lambda r: r[0]):
            w.writerow([head.layer, head.head, f"{m:.8g}", f"{s:.8g}"])
    return ranked


def untuned_distributions(base_model, be, harmful_ids, texts, template, system, device, dtype):
    """``--base-model``'s next-token distributions on the harmful prompts, tokenised exactly as for the tuned model
    (None without ``--base-model``)."""
    if base_model is None:
        return None
    untuned, tokenizer = load_model(base_model, device=device, dtype=dtype)
    if untuned.config.vocab_size != be.model.config.vocab_size:
        raise SafetyHeadsError(f"--base-model {base_model} has another vocabulary than the tuned model")
    theirs = [ids for _t, ids in prepare(tokenizer, texts, template, system)]
    if any(a.reshape(-1).tolist() != b.reshape(-1).tolist() for a, b in zip(harmful_ids, theirs, strict=True)):
        raise SafetyHeadsError(f"--base-model {base_model} tokenises the prompts differently from the tuned model")
    return next_token_logprobs(untuned, harmful_ids)


def _component_line(i: int, comp: PromptComponents, shape: ModelShape, spec: AblationSpec) -> dict:
    line: dict = {"index": i, "prompt": comp.prompt, "kl": scores_grid(shape, spec, comp.kl)}
    if comp.refusal is not None:
        line["refusal"] = scores_grid(shape, spec, comp.refusal)
        line["refusal_base"] = comp.refusal_base
    return line


def _sweep_to_file(
    run: RunDir, name: str, be, encoded, chosen, spec, batch_size, refusal_ids, swept, finish, label, say: Say
):
    """Sweep ``encoded`` into ``name`` (one line per prompt, ``finish(line)`` adds ``scores``), resumably."""

    grid_keys = ["scores", "kl"] + (["refusal"] if refusal_ids else [])

    def valid(position: int, r: dict) -> bool:
        ok = r["index"] == position and position < len(encoded) and r["prompt"] == encoded[position][0]
        return ok and all(grid_ok(r[k], be.shape, spec, swept) for k in grid_keys)

    saved, cut = run.repair_jsonl(name, valid)
    if cut:
        say(f"cut {cut} bytes of torn or corrupt results off {run.file(name)}; redoing them")
    done = {r["index"] for r in saved}
    if done:
        say(f"resuming: {len(done)} of {len(encoded)} prompts already in {run.file(name)}")

    def save(i: int, comp: PromptComponents) -> None:
        run.append_jsonl(name, finish(_component_line(i, comp, be.shape, spec)))

    sweep_components(be.model, encoded, chosen, spec, batch_size, refusal_ids, save, lambda i: i in done, True, label)
    return sorted(run.read_jsonl(name), key=lambda r: r["index"])


def _as_results(lines: list[dict]) -> list[ShipsResult]:
    keys = ("kl", "refusal")
    return [ShipsResult(r["prompt"], r["scores"], {k: r[k] for k in keys if k in r}) for r in lines]


def write_components_csv(path: Path, harmful: list[ShipsResult], harmless: list[ShipsResult] | None) -> list[dict]:
    """``ships_mean.csv`` with ``mean``/``std`` of the score and the mean/std of every component."""
    columns: list[tuple[str, list, list]] = [("", *mean_scores(harmful))]
    columns.append(("kl_", *mean_scores(harmful, "kl")))
    if harmless is not None:
        columns.append(("harmless_kl_", *mean_scores(harmless)))
    if harmful and "refusal" in harmful[0].extra:
        columns.append(("refusal_", *mean_scores(harmful, "refusal")))
    rows: list[dict] = []
    mean = columns[0][1]
    for layer, row in enumerate(mean):
        for h, m in enumerate(row):
            if m is None:
                continue
            record: dict = {"layer": layer, "head": h}
            for prefix, means, stds in columns:
                record[f"{prefix}mean"] = means[layer][h]
                record[f"{prefix}std"] = stds[layer][h]
            rows.append(record)
    header = ["layer", "head"] + [f"{p}{s}" for p, _m, _s in columns for s in ("mean", "std")]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow([r["layer"], r["head"]] + [f"{r[k]:.8g}" if r[k] is not None else "nan" for k in header[2:]])
    return rows


# ---------------------------------------------------------------------------------------------- runs


@dataclass
class ShipsRun:
    """A finished ``ships`` run: per-prompt results and the per-head table (best first)."""

    results: list[ShipsResult]
    ranked: Ranked  # (head, mean, std) of the run's score, best first
    rows: list[dict] = field(default_factory=list)  # ships_mean.csv's rows (every component's mean and std)
    harmless: list[ShipsResult] | None = None  # --score contrastive: the harmless set's Ships
    files: list[Path] = field(default_factory=list)
    score: str = "kl"  # the run's score (kl, refusal or contrastive)
    lam: float = DEFAULT_LAMBDA  # the contrastive score's weight of the harmless KL


@dataclass
class SaharaRun:
    """A finished ``sahara`` run."""

    result: SaharaResult
    file: Path
    shape: ModelShape
    n_prompts: int
    stopped: str | None = None  # why a contrastive search stopped early (no eligible head left)
    components: list[str] = field(default_factory=list)  # the per-step grids besides the objective
    formula: str | None = None  # the objective, for searches other than the paper's


def search_pool(run, be, texts, template, system, spec, heads, pool, screen_tokens, score, say: Say = _quiet):
    """The heads a Sahara search may choose: ``heads`` (a head list text), the screened pool, or None (every head)."""
    if pool is None:
        return chosen_heads(heads, be.shape, spec)
    refusal_ids = refusal_token_ids(be.tokenizer) if score == "refusal" else None
    chosen = screened_pool(
        run, be.model, be.encode(texts, template, system), spec, parse_pool(pool),
        tokens=screen_tokens or DEFAULT_TOKENS, score=score, refusal_ids=refusal_ids, say=say,
    )  # fmt: skip
    say(f"searching the screened pool of {len(chosen)} heads: {' '.join(str(h) for h in chosen)}")
    return chosen


def ships_run(
    out: str | Path,
    *,
    model: str,
    texts: list[str],
    template="raw",
    system: str | None = None,
    spec: AblationSpec | None = None,
    heads: str | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    score: str = "kl",
    lam: float | None = None,
    harmless_prompts: Path | None = None,
    harmless_dataset: str | None = None,
    harmless_limit: int | None = None,
    backend: str = "local",
    ray: RayOptions | None = None,
    say: Say = _quiet,
    status=None,
) -> ShipsRun:
    """``safetyheads ships``: Ships of every head (or ``heads``) on each prompt, resumed from ``out``."""
    spec = spec or AblationSpec()
    if heads is not None:
        named_heads(heads)  # before any model loads
    harmless_given = any(x is not None for x in (harmless_prompts, harmless_dataset, harmless_limit))
    score, lam_ = resolve_ships_score(score, lam, harmless_given, backend)
    if score != "kl":
        return _ships_scored(out, model, texts, template, system, spec, heads, batch_size, device, dtype, score, lam_,
                             harmless_prompts, harmless_dataset, harmless_limit, say, status)  # fmt: skip
    run = RunDir(out)
    run.check_settings("ships", sweep_settings(model, texts, template, system, spec, heads=heads), ["ships.jsonl"])
    with run.lock("ships"), open_backend(backend, model, device, dtype, ray, status) as be:
        run.record_provenance("ships", be.provenance(), batch_size)
        chosen = chosen_heads(heads, be.shape, spec)
        swept = set(chosen) if chosen is not None else set(be.shape.all_heads(spec))
        encoded = be.encode(texts, template, system)

        def valid(position: int, r: dict) -> bool:  # a line is the next prompt's complete, well-formed result
            ok_index = r["index"] == position and position < len(texts) and r["prompt"] == texts[position]
            return ok_index and grid_ok(r["scores"], be.shape, spec, swept)

        saved, cut = run.repair_jsonl("ships.jsonl", valid)
        if cut:
            say(f"cut {cut} bytes of torn or corrupt results off {run.file('ships.jsonl')}; redoing them")
        done = {r["index"] for r in saved}
        if done:
            say(f"resuming: {len(done)} of {len(texts)} prompts already in {run.file('ships.jsonl')}")

        def save(i: int, result: ShipsResult) -> None:
            run.append_jsonl("ships.jsonl", {"index": i, **result.as_dict()})

        be.ships(encoded, chosen, spec, batch_size, on_result=save, skip=lambda i: i in done, show_progress=True)
    results = [
        ShipsResult(r["prompt"], r["scores"]) for r in sorted(run.read_jsonl("ships.jsonl"), key=lambda r: r["index"])
    ]
    ranked = write_mean_csv(run.file("ships_mean.csv"), results)
    rows = [{"layer": h.layer, "head": h.head, "mean": m, "std": s} for h, m, s in ranked]
    return ShipsRun(results, ranked, rows, files=[run.file("ships.jsonl"), run.file("ships_mean.csv")])


def _ships_scored(out, model, texts, template, system, spec, heads, batch_size, device, dtype, score, lam,
                  harmless_prompts, harmless_dataset, harmless_limit, say, status) -> ShipsRun:  # fmt: skip
    """``ships --score refusal|contrastive``: see ``safetyheads.scores.specificity`` and docs/analyses.md."""
    harmless: list[str] = []
    extra: dict = {"score": score}
    if score == "contrastive":
        harmless = harmless_texts(harmless_prompts, harmless_dataset, harmless_limit, len(texts), None)
        extra.update({"lambda": lam, "harmless": prompts_digest(harmless), "n_harmless": len(harmless)})
        say(f"harmless set: {len(harmless)} prompts from {harmless_prompts or harmless_dataset or HARMLESS_QUESTIONS}")
    run = RunDir(out)
    run.check_settings("ships", sweep_settings(model, texts, template, system, spec, heads=heads, **extra))
    with run.lock("ships"), open_backend("local", model, device, dtype, None, status) as be:
        run.record_provenance("ships", be.provenance(), batch_size)
        chosen = chosen_heads(heads, be.shape, spec)
        swept = set(chosen) if chosen is not None else set(be.shape.all_heads(spec))
        refusal_ids = refusal_token_ids(be.tokenizer)
        harmless_results: list[ShipsResult] | None = None
        harmless_mean = None
        if score == "contrastive":

            def harmless_line(line: dict) -> dict:
                kl = line["kl"]
                return {"index": line["index"], "set": "harmless", "prompt": line["prompt"], "scores": kl, "kl": kl}

            h_lines = _sweep_to_file(
                run, "ships_harmless.jsonl", be, be.encode(harmless, template, system), chosen, spec, batch_size,
                None, swept, harmless_line, "Ships, harmless set", say,
            )  # fmt: skip
            harmless_results = _as_results(h_lines)
            harmless_mean = mean_scores(harmless_results)[0]

        def finish(line: dict) -> dict:
            if score == "refusal":
                first = line["refusal"]
            else:
                first = contrastive_grid(line["kl"], harmless_mean, lam)
                line = {"index": line["index"], "set": "harmful", **{k: v for k, v in line.items() if k != "index"}}
            return {**line, "scores": first}

        lines = _sweep_to_file(
            run, "ships.jsonl", be, be.encode(texts, template, system), chosen, spec, batch_size, refusal_ids, swept,
            finish, "Ships, harmful set" if score == "contrastive" else "Ships + refusal", say,
        )  # fmt: skip
    results = _as_results(lines)
    rows = sorted(
        write_components_csv(run.file("ships_mean.csv"), results, harmless_results),
        key=lambda r: (-r["mean"], r["layer"], r["head"]),
    )
    ranked = [(Head(r["layer"], r["head"]), r["mean"], r["std"]) for r in rows]
    files = [run.file("ships.jsonl")] + ([run.file("ships_harmless.jsonl")] if harmless_results is not None else [])
    return ShipsRun(results, ranked, rows, harmless_results, [*files, run.file("ships_mean.csv")], score, lam)


def sahara_run(
    out: str | Path,
    *,
    model: str,
    texts: list[str],
    steps: int = 3,
    rank: int = 1,
    beam: int = 1,
    template="raw",
    system: str | None = None,
    spec: AblationSpec | None = None,
    heads: str | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    score: str = "kl",
    objective: str | None = None,
    lam: float | None = None,
    harmless_kl_budget: float | None = None,
    harmless_prompts: Path | None = None,
    harmless_dataset: str | None = None,
    harmless_limit: int | None = None,
    base_model: str | None = None,
    pool: str | None = None,
    screen_tokens: int | None = None,
    backend: str = "local",
    ray: RayOptions | None = None,
    say: Say = _quiet,
    status=None,
) -> SaharaRun:
    """``safetyheads sahara``: the Sahara search on ``texts``, resumed step by step from ``out``/sahara.json."""
    spec = spec or AblationSpec()
    check_beam(beam)
    if heads is not None:
        named_heads(heads)  # before any model loads
    check_pool(pool, heads, screen_tokens, backend)
    harmless_given = any(x is not None for x in (harmless_prompts, harmless_dataset, harmless_limit))
    goal = resolve_sahara_objective(score, objective, lam, harmless_kl_budget, harmless_given, backend)
    if goal is not None:  # --score refusal / untune / --objective contrastive: safetyheads.scores.specificity
        return _sahara_scored(out, model, texts, steps, rank, beam, template, system, spec, heads, batch_size, device,
                              dtype, score.strip().lower(), goal, harmless_prompts, harmless_dataset, harmless_limit,
                              base_model, pool, screen_tokens, say, status)  # fmt: skip
    if base_model is not None:
        raise SafetyHeadsError("--base-model is for --score untune")
    run = RunDir(out)
    settings = sweep_settings(model, texts, template, system, spec, steps=steps, rank=rank, heads=heads, beam=beam)
    settings.update(pool_settings(pool, screen_tokens))
    run.check_settings("sahara", settings, ["sahara.json", "pool.json", "screen.jsonl"], defaults=SAHARA_DEFAULTS)
    with run.lock("sahara"), open_backend(backend, model, device, dtype, ray, status) as be:
        run.record_provenance("sahara", be.provenance(), batch_size)
        shape = be.shape
        candidates = search_pool(run, be, texts, template, system, spec, heads, pool, screen_tokens, "kl", say)
        encoded = [ids for _t, ids in be.encode(texts, template, system)]
        file = run.file("sahara.json")
        done: list[SaharaStep] = []
        done_beam: list[BeamStep] = []
        if file.exists():
            swept = set(candidates if candidates is not None else shape.all_heads(spec))
            if beam == 1:
                done = read_sahara(file, steps, shape, spec, swept, say)
            else:
                done_beam = read_beam(file, steps, beam, shape, spec, swept, say)
            if done or done_beam:
                say(f"resuming: {len(done) or len(done_beam)} of {steps} Sahara steps already in {file}")

        def save(partial: SaharaResult) -> None:
            write_json(file, {**partial.as_dict(), "complete": len(partial.steps) == steps})

        result = be.sahara(
            encoded, steps, rank, spec, candidates, batch_size, done_steps=done, show_progress=True, beam=beam,
            done_beam=done_beam, on_result=save,
        )  # fmt: skip
        write_json(file, {**result.as_dict(), "complete": True})
    return SaharaRun(result, file, shape, len(texts))


def _sahara_scored(out, model, texts, steps, rank, beam, template, system, spec, heads, batch_size, device, dtype,
                   score: str, objective: Objective, harmless_prompts, harmless_dataset, harmless_limit, base_model,
                   pool, screen_tokens, say, status) -> SaharaRun:  # fmt: skip
    """``sahara --score refusal|untune`` / ``--objective contrastive``: see ``specificity.sahara_contrastive``."""
    if (objective.reward == "untune") != (base_model is not None):
        raise SafetyHeadsError("--score untune needs --base-model M (the untuned model), and --base-model needs it")
    harmless: list[str] = []
    extra: dict = {"score": score, **objective.describe(), **({"base_model": base_model} if base_model else {})}
    if objective.needs_harmless:
        harmless = harmless_texts(harmless_prompts, harmless_dataset, harmless_limit, len(texts), None)
        extra.update(harmless=prompts_digest(harmless), n_harmless=len(harmless))
        say(f"harmless set: {len(harmless)} prompts from {harmless_prompts or harmless_dataset or HARMLESS_QUESTIONS}")
    run = RunDir(out)
    settings = sweep_settings(
        model, texts, template, system, spec, steps=steps, rank=rank, heads=heads, beam=beam, **extra
    )
    settings.update(pool_settings(pool, screen_tokens))
    run.check_settings("sahara", settings, defaults=SAHARA_DEFAULTS)
    with run.lock("sahara"), open_backend("local", model, device, dtype, None, status) as be:
        run.record_provenance("sahara", be.provenance(), batch_size)
        shape = be.shape
        screen_score = "refusal" if objective.reward == "refusal" else "kl"
        candidates = search_pool(run, be, texts, template, system, spec, heads, pool, screen_tokens, screen_score, say)
        harmful_ids = [ids for _t, ids in be.encode(texts, template, system)]
        harmless_ids = [ids for _t, ids in be.encode(harmless, template, system)] if harmless else []
        refusal_ids = refusal_token_ids(be.tokenizer)
        target = untuned_distributions(base_model, be, harmful_ids, texts, template, system, device, dtype)
        file = run.file("sahara.json")
        done: list[SaharaStep] = []
        done_beam: list[BeamStep] = []
        if file.exists():
            swept = set(candidates if candidates is not None else shape.all_heads(spec))
            if beam > 1:  # read_beam keeps every saved grid, components included
                done_beam = read_beam(file, steps, beam, shape, spec, swept, say)
            elif done := read_sahara(file, steps, shape, spec, swept, say):  # objective grid only: components back
                raw = json.loads(file.read_text(encoding="utf-8"))["steps"]
                for step, saved in zip(done, raw, strict=False):
                    step.extra = {k: v for k, v in saved.items() if k not in ("chosen", "scores")}
            if done or done_beam:
                say(f"resuming: {len(done) or len(done_beam)} of {steps} Sahara steps already in {file}")
        header = {"objective": {"score": score, **objective.describe(), "formula": objective.formula()}}

        def save(partial: SaharaResult) -> None:
            write_json(file, {**partial.as_dict(), **header, "complete": len(partial.steps) == steps})

        result, stopped = sahara_contrastive(
            be.model, harmful_ids, harmless_ids, objective, steps, rank, spec, candidates, batch_size, refusal_ids,
            done_steps=done, show_progress=True, beam=beam, done_beam=done_beam, on_result=save,
            target_logprobs=target,
        )  # fmt: skip
        write_json(file, {**result.as_dict(), **header, "complete": True, **({"stopped": stopped} if stopped else {})})
    keys = ["generalized_ships", "refusal"] + (["untuning"] if target is not None else [])
    keys += ["harmless_generalized_ships", "harmless_kl"] if harmless else []
    return SaharaRun(result, file, shape, len(texts), stopped, keys, objective.formula())


def screen_ships_run(
    out: str | Path,
    *,
    model: str,
    texts: list[str],
    template="raw",
    system: str | None = None,
    spec: AblationSpec | None = None,
    heads: str | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    score: str = "kl",
    tokens: int = DEFAULT_TOKENS,
    verify_top: int | None = None,
    say: Say = _quiet,
    status=None,
) -> ScreenRun:
    """``ships --method screen``: the screen of every head, then the exact sweep of the best ``verify_top``
    (``safetyheads.runs.screen_run``), resumed from ``out``."""
    spec = spec or AblationSpec()
    check_score(score)
    run = RunDir(out)
    settings = sweep_settings(
        model, texts, template, system, spec, heads=heads, method="screen", score=score, tokens=tokens,
        verify_top=verify_top, device=device, dtype=dtype,
    )  # fmt: skip
    run.check_settings("screen", settings, ["screen.jsonl", "verified.jsonl"])
    with run.lock("screen"), open_backend("local", model, device, dtype, None, status) as be:
        run.record_provenance("screen", be.provenance(), batch_size)
        chosen = chosen_heads(heads, be.shape, spec)
        refusal_ids = refusal_token_ids(be.tokenizer) if score == "refusal" else None
        return run_screen(
            run, be.model, be.encode(texts, template, system), spec, tokens=tokens, verify_top=verify_top,
            heads=chosen, score=score, refusal_ids=refusal_ids, batch_size=batch_size, say=say,
        )  # fmt: skip
