"""The screen as resumable runs: ``ships --method screen`` (with ``--verify-top K``) and ``sahara --pool screen:K``.

Files in the run directory:

* ``screen.jsonl``: one line per prompt, the screened grid of every head (``method: "screen"``), its refusal grid
  under ``--score refusal``, the probability ``mass`` the second-order estimate covered and the prompt's cost;
* ``screen_mean.csv``: the per-head mean and std over prompts, ranked;
* ``verified.jsonl``: with ``verify_top=K``, the exact sweep of the K best screened heads (``method: "exact"``);
* ``verified_mean.csv``: those heads' screened and exact means and ranks side by side;
* ``pool.json``: a Sahara search's screened pool (so that a resume searches the same pool).

A rerun resumes each file where it stopped; other settings are refused (``RunDir.check_settings``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from safetyheads.core.families import model_shape
from safetyheads.core.heads import validate_heads
from safetyheads.runs.rundir import RunDir, grid_ok, write_json
from safetyheads.scores.screen import DEFAULT_TOKENS, PromptScreen, ScreenCost, exact_sweep_cost, screen_ships
from safetyheads.scores.ships import Ranked, ranked_heads, scores_grid
from safetyheads.scores.specificity import PromptComponents, sweep_components
from safetyheads.types import AblationSpec, Head, ModelShape, SafetyHeadsError, ShipsResult

SCREEN_SCORES = ("kl", "refusal")
POOL_PREFIX = "screen:"


@dataclass
class ScreenRun:
    """What a screen run produced (``run_screen``)."""

    screened: Ranked
    verified: Ranked = field(default_factory=list)  # exact means of the verified heads, best first
    cost: ScreenCost = field(default_factory=ScreenCost)  # the screen's cost over all prompts (from the file)
    exact_cost: float = 0.0  # forward-equivalents the exact sweep of every screened head would cost
    verify_cost: float = 0.0  # forward-equivalents of the verification sweep
    n_prompts: int = 0
    files: list[Path] = field(default_factory=list)


def check_score(score: str) -> str:
    if score not in SCREEN_SCORES:
        raise SafetyHeadsError(f"the screen estimates --score {' or '.join(SCREEN_SCORES)}, not '{score}'")
    return score


def parse_pool(text: str) -> int:
    """``screen:K`` -> K."""
    if not text.startswith(POOL_PREFIX):
        raise SafetyHeadsError(f"--pool takes {POOL_PREFIX}K (the K best heads of the Ships screen), not '{text}'")
    try:
        k = int(text[len(POOL_PREFIX) :])
    except ValueError:
        raise SafetyHeadsError(f"--pool {text}: K must be a whole number") from None
    if k < 1:
        raise SafetyHeadsError(f"--pool {text}: K must be at least 1")
    return k


def _grid_key(score: str) -> str:
    return "scores" if score == "kl" else "refusal"


def _screen_file(
    run: RunDir,
    model: nn.Module,
    prompts: Sequence[tuple[str, torch.Tensor]],
    spec: AblationSpec,
    tokens: int,
    heads: Sequence[Head] | None,
    refusal_ids: Sequence[int] | None,
    shape: ModelShape,
    say: Callable[[str], None],
) -> list[dict]:
    """``screen.jsonl``, completed from where it stopped; its records in prompt order."""
    swept = set(heads) if heads is not None else set(shape.all_heads(spec))

    def valid(position: int, r: dict) -> bool:
        ok = r["index"] == position < len(prompts) and r["prompt"] == prompts[position][0]
        ok = ok and r.get("method") == "screen" and grid_ok(r["scores"], shape, spec, swept)
        return ok and (refusal_ids is None or grid_ok(r.get("refusal"), shape, spec, swept))

    saved, cut = run.repair_jsonl("screen.jsonl", valid)
    if cut:
        say(f"cut {cut} bytes of torn or corrupt results off {run.file('screen.jsonl')}; redoing them")
    if saved:
        say(f"resuming: {len(saved)} of {len(prompts)} prompts already in {run.file('screen.jsonl')}")

    def save(i: int, result: ShipsResult, screen: PromptScreen) -> None:
        extra = {"mass": screen.mass, "cost": screen.cost.as_dict()}
        run.append_jsonl("screen.jsonl", {"index": i, "method": "screen", **result.as_dict(), **extra})

    done = len(saved)
    screen_ships(model, prompts, spec, tokens, heads, refusal_ids, save, skip=lambda i: i < done, show_progress=True)
    return run.read_jsonl("screen.jsonl")


def _results(records: Sequence[dict]) -> list[ShipsResult]:
    return [ShipsResult(r["prompt"], r["scores"], {k: r[k] for k in ("refusal",) if k in r}) for r in records]


def _verify_file(
    run: RunDir,
    model: nn.Module,
    prompts: Sequence[tuple[str, torch.Tensor]],
    spec: AblationSpec,
    top: list[Head],
    refusal_ids: Sequence[int] | None,
    batch_size: int | None,
    shape: ModelShape,
) -> list[dict]:
    """``verified.jsonl``: the exact sweep of ``top`` on every prompt, resumed where it stopped."""
    swept = set(top)

    def valid(position: int, r: dict) -> bool:
        ok = r["index"] == position < len(prompts) and r["prompt"] == prompts[position][0]
        return ok and r.get("method") == "exact" and grid_ok(r["scores"], shape, spec, swept)

    done = len(run.read_jsonl("verified.jsonl", valid))

    def save(i: int, parts: PromptComponents) -> None:
        record = {"index": i, "method": "exact", "prompt": parts.prompt, "scores": scores_grid(shape, spec, parts.kl)}
        if parts.refusal is not None:
            record["refusal"] = scores_grid(shape, spec, parts.refusal)
        run.append_jsonl("verified.jsonl", record)

    sweep_components(model, prompts, top, spec, batch_size, refusal_ids, save, lambda i: i < done, True,
                     f"exact sweep of the top {len(top)}")  # fmt: skip
    return run.read_jsonl("verified.jsonl")


def _write_mean_csv(path: Path, rows: Ranked, label: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["rank", "layer", "head", f"{label}_mean", f"{label}_std"])
        for i, (h, m, s) in enumerate(rows, 1):
            w.writerow([i, h.layer, h.head, f"{m:.8g}", f"{s:.8g}"])


def _write_verified_csv(path: Path, screened: Ranked, exact: Ranked) -> None:
    screen_rank = {h: i for i, (h, _m, _s) in enumerate(screened, 1)}
    screen_mean = {h: m for h, m, _s in screened}
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["exact_rank", "screen_rank", "layer", "head", "exact_mean", "exact_std", "screen_mean"])
        for i, (h, m, s) in enumerate(exact, 1):
            w.writerow([i, screen_rank[h], h.layer, h.head, f"{m:.8g}", f"{s:.8g}", f"{screen_mean[h]:.8g}"])


def run_screen(
    run: RunDir,
    model: nn.Module,
    prompts: Sequence[tuple[str, torch.Tensor]],
    spec: AblationSpec,
    *,
    tokens: int = DEFAULT_TOKENS,
    verify_top: int | None = None,
    heads: Sequence[Head] | None = None,
    score: str = "kl",
    refusal_ids: Sequence[int] | None = None,
    batch_size: int | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> ScreenRun:
    """Screen every head (or ``heads``) on ``prompts``, then, with ``verify_top``, sweep the best K exactly.

    The caller has checked the run's settings (``tokens``, ``verify_top``, ``score`` among them) and holds its lock.
    ``score``: ``kl`` (Ships, second order) or ``refusal`` (refusal log-odds change, first order; needs
    ``refusal_ids``).
    """
    check_score(score)
    if score == "refusal" and not refusal_ids:
        raise SafetyHeadsError("the refusal screen needs the refusal token ids (specificity.refusal_token_ids)")
    ids = refusal_ids if score == "refusal" else None
    shape = model_shape(model)
    heads = validate_heads(heads, shape, spec) if heads is not None else None
    if verify_top is not None and verify_top < 1:
        raise SafetyHeadsError(f"--verify-top must be at least 1, not {verify_top}")
    if tokens < 1:
        raise SafetyHeadsError(f"--screen-tokens must be at least 1, not {tokens}")
    n_screened = len(heads) if heads is not None else len(shape.all_heads(spec))
    if verify_top is not None and verify_top > n_screened:  # the slice below would verify fewer without a word
        raise SafetyHeadsError(f"--verify-top {verify_top}, but only {n_screened} heads are screened")
    records = _screen_file(run, model, prompts, spec, tokens, heads, ids, shape, say)
    results = _results(records)
    screened = ranked_heads(results, _grid_key(score))
    _write_mean_csv(run.file("screen_mean.csv"), screened, "screen")
    cost = ScreenCost()
    for r in records:
        c = r["cost"]
        cost.add(ScreenCost(c["forwards"], c["backwards"], c["seconds"]))
    pool = [h for h, _m, _s in screened]
    out = ScreenRun(
        screened=screened,
        cost=cost,
        exact_cost=len(prompts) * exact_sweep_cost(shape, spec, pool),
        n_prompts=len(prompts),
        files=[run.file("screen.jsonl"), run.file("screen_mean.csv")],
    )
    if verify_top:
        top = sorted(pool[:verify_top])
        lines = _verify_file(run, model, prompts, spec, top, ids, batch_size, shape)
        out.verified = ranked_heads(_results(lines), _grid_key(score))
        out.verify_cost = len(prompts) * exact_sweep_cost(shape, spec, top)
        _write_verified_csv(run.file("verified_mean.csv"), screened, out.verified)
        out.files += [run.file("verified.jsonl"), run.file("verified_mean.csv")]
    return out


def screened_pool(
    run: RunDir,
    model: nn.Module,
    prompts: Sequence[tuple[str, torch.Tensor]],
    spec: AblationSpec,
    k: int,
    *,
    tokens: int = DEFAULT_TOKENS,
    score: str = "kl",
    refusal_ids: Sequence[int] | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> list[Head]:
    """The K best heads of the Ships screen on ``prompts``, saved in ``pool.json`` (a resume reads them back)."""
    check_score(score)
    file = run.file("pool.json")
    if file.exists():
        saved = json.loads(file.read_text(encoding="utf-8"))
        if saved.get("k") == k and saved.get("tokens") == tokens and saved.get("score") == score:
            say(f"the screened pool of {k} heads from {file}")
            return [Head(*h) for h in saved["heads"]]
        raise SafetyHeadsError(f"{file} holds another pool ({saved.get('score')}, k={saved.get('k')}); use a new --out")
    result = run_screen(run, model, prompts, spec, tokens=tokens, score=score, refusal_ids=refusal_ids, say=say)
    heads = sorted(h for h, _m, _s in result.screened[:k])
    if len(heads) < k:
        raise SafetyHeadsError(f"--pool screen:{k} asks for more heads than the model has ({len(result.screened)})")
    write_json(file, {"k": k, "tokens": tokens, "score": score, "heads": [h.as_list() for h in heads]})
    return heads
